//! Task events as a stream: subscribers that join in the middle of a task, that disconnect and
//! resume from their last number, and that never read, each see every event once and in order,
//! as the store keeps them; a task submitted in the background is cancelled by its id.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use watsmith_agent::{Event, Stop};
use watsmith_runtime::{
    EventQuery, SessionSpec, Sessions, SessionsConfig, StoredEvent, Streamed, Subscription,
};

use super::runtime::{agent_settings, start};

/// Reads `subscription` until it ends or `until` holds for an event; the events (the deltas
/// left out) and whether a delta came.
async fn read(
    subscription: &mut Subscription,
    until: impl Fn(&StoredEvent) -> bool,
) -> (Vec<StoredEvent>, bool) {
    let (mut events, mut deltas) = (Vec::new(), false);
    loop {
        let item = tokio::time::timeout(Duration::from_secs(30), subscription.next())
            .await
            .expect("an event within 30 s")
            .expect("the store reads");
        match item {
            Some(Streamed::Event(event)) => {
                let done = until(&event);
                events.push(event);
                if done {
                    return (events, deltas);
                }
            }
            Some(Streamed::Delta { .. }) => deltas = true,
            Some(Streamed::Ended { error, .. }) => assert_eq!(error, None),
            Some(other) => panic!("unexpected {other:?}"),
            None => return (events, deltas),
        }
    }
}

fn numbers(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|event| event.seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_joining_midway_resuming_and_never_reading_each_get_every_event_once_in_order()
{
    // The model answers the first request with a program and holds the second until the test
    // opens the gate, so that the task is midway while subscribers join.
    let (open, gate) = mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let asked = Mutex::new(0);
    let (server, _requests) = watsmith_test_support::openai_server(move |_| {
        let mut asked = asked.lock().expect("the count");
        *asked += 1;
        if *asked == 1 {
            "```wat\n(local $n i64) (local.set $n (i64.const 42)) (resv $n)\n```".to_owned()
        } else {
            gate.lock()
                .expect("the gate")
                .recv()
                .expect("the gate opens");
            "The answer is 42.".to_owned()
        }
    });
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = agent_settings(&dir.path().join("w.db"), &format!("http://{server}/v1"));
    settings.agent.stream = true;
    let runtime = Arc::new(start(settings).await);
    let sessions = Sessions::start(Arc::clone(&runtime), SessionsConfig::default());
    sessions
        .create(SessionSpec {
            id: Some("s".to_owned()),
            ..SessionSpec::default()
        })
        .await
        .expect("created");

    let never = sessions.subscribe("s", None, 0).await.expect("subscribes");
    let mut first = sessions.subscribe("s", None, 0).await.expect("subscribes");
    let submitted = sessions
        .submit("s", "what is 6 * 7?".to_owned())
        .await
        .expect("submitted");
    assert_eq!(submitted.task, "1");

    // Midway: the program ran and the model is asked again (the gate holds its answer).
    let is_second_request =
        |event: &StoredEvent| matches!(event.line.event, Event::Request { step: 2, .. });
    let (mut seen_first, _) = read(&mut first, is_second_request).await;
    assert!(
        seen_first
            .iter()
            .any(|event| matches!(event.line.event, Event::Outcome { .. })),
        "{seen_first:?}"
    );
    let mut midway = sessions
        .subscribe("s", Some(submitted.task.clone()), 0)
        .await
        .expect("subscribes");
    let mut leaving = sessions.subscribe("s", None, 0).await.expect("subscribes");
    let (left_with, _) = read(&mut leaving, |event| event.seq == 2).await;
    drop(leaving);
    let last = left_with.last().expect("two events").seq;

    open.send(()).expect("the model waits");
    let is_final = |event: &StoredEvent| matches!(event.line.event, Event::Final { .. });
    let (rest_first, deltas) = read(&mut first, is_final).await;
    seen_first.extend(rest_first);
    assert!(deltas, "the streamed answer came as deltas");
    let (seen_midway, _) = read(&mut midway, |_| false).await;
    let mut resumed = sessions
        .subscribe("s", Some("1".to_owned()), last)
        .await
        .expect("subscribes again");
    let (rest_leaving, _) = read(&mut resumed, |_| false).await;
    let finish = submitted
        .done
        .await
        .expect("the task ran")
        .expect("the task ended well");
    assert!(matches!(finish.ending, watsmith_agent::Ending::Answer(_)));
    drop(never);

    let stored = runtime
        .store()
        .events("s", &EventQuery::default())
        .await
        .expect("stored");
    let expected: Vec<u64> = (1..=stored.len() as u64).collect();
    assert_eq!(numbers(&stored), expected, "stored in order, from 1");
    assert!(matches!(
        stored.last().map(|event| &event.line.event),
        Some(Event::Final { .. })
    ));
    assert_eq!(seen_first, stored, "the first subscriber");
    assert_eq!(seen_midway, stored, "the one that joined midway");
    let mut leaving = left_with;
    leaving.extend(rest_leaving);
    assert_eq!(leaving, stored, "the one that left and resumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_task_is_cancelled_by_its_id_and_its_stored_events_are_read_after_it() {
    // A model that never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}/v1", listener.local_addr().expect("address"));
    let dir = tempfile::tempdir().expect("dir");
    let runtime = Arc::new(start(agent_settings(&dir.path().join("w.db"), &base)).await);
    let sessions = Sessions::start(Arc::clone(&runtime), SessionsConfig::default());
    let id = sessions
        .create(SessionSpec::default())
        .await
        .expect("created")
        .id;
    let submitted = sessions
        .submit(&id, "wait".to_owned())
        .await
        .expect("submitted");
    let busy = sessions
        .submit(&id, "another".to_owned())
        .await
        .expect_err("one task at a time");
    assert_eq!(busy.kind(), watsmith_runtime::ErrorKind::Busy, "{busy}");
    assert!(!sessions.cancel(&id, Some("7")), "not the task running");
    assert!(sessions.cancel(&id, Some(&submitted.task)));
    let finish = tokio::time::timeout(Duration::from_secs(10), submitted.done)
        .await
        .expect("stops at once")
        .expect("ran")
        .expect("ended");
    assert!(matches!(
        finish.ending,
        watsmith_agent::Ending::Stopped(Stop::Cancelled)
    ));
    assert!(!sessions.cancel(&id, None), "nothing runs now");

    // Read after the task: its stored events, ending with its stop.
    let mut after = sessions
        .subscribe(&id, Some(submitted.task.clone()), 0)
        .await
        .expect("subscribes");
    let (events, _) = read(&mut after, |_| false).await;
    assert!(matches!(
        events.first().map(|event| &event.line.event),
        Some(Event::Task { .. })
    ));
    assert!(matches!(
        events.last().map(|event| &event.line.event),
        Some(Event::Stopped {
            reason: Stop::Cancelled,
            ..
        })
    ));
    let missing = sessions
        .subscribe("nobody", None, 0)
        .await
        .expect_err("no such session");
    assert_eq!(missing.kind(), watsmith_runtime::ErrorKind::NotFound);

    // A second task follows the first's numbers.
    let second = sessions
        .submit(&id, "wait again".to_owned())
        .await
        .expect("submitted");
    assert_eq!(second.task, "2");
    let mut live = sessions
        .subscribe(&id, Some("2".to_owned()), 0)
        .await
        .expect("subscribes");
    let (started, _) = read(&mut live, |event| {
        matches!(event.line.event, Event::Task { .. })
    })
    .await;
    assert_eq!(
        started.last().map(|event| event.seq),
        Some(events.last().expect("events").seq + 1)
    );
    assert!(sessions.cancel(&id, None));
    let _ = tokio::time::timeout(Duration::from_secs(10), second.done).await;
}
