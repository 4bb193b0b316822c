//! The store contract: what every [`Store`] must do, run against each backend (the in-memory
//! store and the SQLite database today; a networked store adds itself to `contract!`). kv
//! quotas at their edges, the rules for replacing a session, expiry, leases, event ranges and
//! resumption, and concurrent writers. "Another process" is a second handle on the same store:
//! a second connection to the database's file, the same object for the in-memory store.

use std::sync::Arc;
use std::time::Duration;

use watsmith_agent::{Event, Message, Spent, Stop, TranscriptLine};
use watsmith_engine::{KvError, KvQuota, PolicySpec};
use watsmith_runtime::store::{
    Database, EventQuery, MAX_EVENTS_READ, MemoryStore, SessionRecord, Store, StoreError,
    StoredEvent,
};

/// A store under test, and a second handle on it.
struct Backend {
    name: &'static str,
    first: Arc<dyn Store>,
    second: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

/// The kv quota of every backend under test: small, so that its edges are reached.
const QUOTA: KvQuota = KvQuota {
    max_keys: 3,
    max_bytes: 20,
};

impl Backend {
    fn memory() -> Self {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::with_quota(QUOTA));
        Self {
            name: "memory",
            second: Arc::clone(&store),
            first: store,
            _dir: None,
        }
    }

    fn database() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("w.db");
        let open = || -> Arc<dyn Store> {
            Arc::new(
                Database::open_with_quota(&path, QUOTA)
                    .expect("opens")
                    .database,
            )
        };
        Self {
            name: "database",
            first: open(),
            second: open(),
            _dir: Some(dir),
        }
    }
}

/// Runs each contract test against each backend.
macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Backend::memory()).await;
                }
            )*
        }
        mod database {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Backend::database()).await;
                }
            )*
        }
    };
}

contract!(
    kv_quotas_hold_at_their_edges,
    sessions_expire_and_are_listed_until_then,
    a_session_changed_since_it_was_loaded_is_not_overwritten,
    a_session_removed_and_made_again_is_not_overwritten_by_a_save_from_before,
    a_session_made_again_does_not_inherit_events_appended_after_the_old_one_went,
    leases_refuse_other_holders_until_released_or_run_out,
    events_are_read_by_range_task_and_limit_and_appended_without_gaps,
    concurrent_writers_lose_nothing,
);

fn record(id: &str, expires_ms: u64) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        messages: vec![Message::user("hello"), Message::assistant("hi", Vec::new())],
        kv_namespace: "default".to_owned(),
        model: None,
        policy: PolicySpec::standard(),
        limits: Default::default(),
        tasks: 1,
        created_ms: 1,
        updated_ms: 2,
        expires_ms,
        revision: 0,
    }
}

fn event(seq: u64, task: &str) -> StoredEvent {
    StoredEvent {
        seq,
        task: task.to_owned(),
        line: TranscriptLine {
            ts_ms: u128::from(seq),
            event: Event::Stopped {
                reason: Stop::Cancelled,
                spent: Spent::default(),
            },
        },
    }
}

fn numbers(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|event| event.seq).collect()
}

/// Far enough ahead not to expire during a test.
const LATER: u64 = u64::MAX / 2;

async fn kv_quotas_hold_at_their_edges(store: Backend) {
    let kv = store.first.kv();
    // "a" + 9 bytes = 10; "b" + 9 = 10: exactly 20.
    kv.set("ns", "a", &[1; 9]).await.expect("fits");
    kv.set("ns", "b", &[1; 9]).await.expect("fits");
    assert!(
        matches!(kv.set("ns", "c", b"").await, Err(KvError::Quota(_))),
        "{}: one byte over",
        store.name
    );
    // Replacing counts only the difference; shrinking frees room.
    kv.set("ns", "a", &[2; 9]).await.expect("same size");
    kv.set("ns", "a", &[3; 1]).await.expect("smaller");
    kv.set("ns", "c", &[0; 6]).await.expect("now it fits");
    assert!(
        matches!(kv.set("ns", "d", b"").await, Err(KvError::Quota(_))),
        "{}: a fourth key",
        store.name
    );
    assert!(kv.delete("ns", "c").await.expect("deleted"));
    kv.set("ns", "d", b"").await.expect("the key count freed");
    // Another namespace has its own quota.
    kv.set("other", "a", &[1; 19]).await.expect("fits");
    // An increment is a write under the same quota, and atomic.
    assert!(matches!(
        kv.incr("ns", "d", 1).await,
        Err(KvError::NotInteger { .. })
    ));
    assert!(kv.delete("ns", "d").await.expect("deleted"));
    assert_eq!(kv.incr("ns", "n", 5).await, Ok(5));
    assert_eq!(kv.incr("ns", "n", -2).await, Ok(3));
    kv.set("ns", "big", b"9223372036854775807")
        .await
        .expect_err("the quota");
    assert_eq!(kv.list("ns", "").await.expect("list"), ["a", "b", "n"]);
    assert_eq!(kv.list("ns", "b").await.expect("list"), ["b"]);
    assert!(kv.has("other", "a").await.expect("has"));
    assert_eq!(kv.get("ns", "nope").await, Ok(None));
    // The other handle sees the same namespaces.
    assert_eq!(store.second.kv().incr("ns", "n", 1).await, Ok(4));
}

async fn sessions_expire_and_are_listed_until_then(store: Backend) {
    let live = record("live", LATER);
    assert_eq!(store.first.save_session(&live).await.expect("saved"), 1);
    store
        .first
        .save_session(&record("old", 1))
        .await
        .expect("saved");
    assert_eq!(
        store.second.load_session("live").await.expect("loads"),
        Some(SessionRecord {
            revision: 1,
            ..live.clone()
        })
    );
    let listed: Vec<String> = store
        .first
        .list_sessions()
        .await
        .expect("lists")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        listed,
        ["live"],
        "{}: the expired one is not listed",
        store.name
    );
    // Removed by the sweep, with its events, by the store's clock.
    store
        .first
        .append_events("old", &[event(1, "1")])
        .await
        .expect("appended");
    assert_eq!(store.second.remove_expired().await.expect("sweeps"), 1);
    assert_eq!(store.first.remove_expired().await.expect("sweeps"), 0);
    assert_eq!(store.first.last_event("old").await.expect("last"), 0);
    assert_eq!(store.first.load_session("old").await.expect("loads"), None);
    assert!(
        store
            .first
            .load_session("live")
            .await
            .expect("loads")
            .is_some()
    );
}

async fn a_session_changed_since_it_was_loaded_is_not_overwritten(store: Backend) {
    let (first, second) = (&store.first, &store.second);
    let created = record("work", LATER);
    assert_eq!(first.save_session(&created).await.expect("created"), 1);
    // Creating it again, from a record that never was in the store, would replace it.
    assert!(matches!(
        second.save_session(&created).await,
        Err(StoreError::Changed {
            loaded: 0,
            now: Some(1),
            ..
        })
    ));
    let mut mine = first
        .load_session("work")
        .await
        .expect("loads")
        .expect("there");
    let mut theirs = second
        .load_session("work")
        .await
        .expect("loads")
        .expect("there");
    mine.tasks = 2;
    mine.revision = first.save_session(&mine).await.expect("saved");
    assert_eq!(mine.revision, 2);
    theirs.tasks = 7;
    let error = second.save_session(&theirs).await.expect_err("stale");
    assert_eq!(
        error,
        StoreError::Changed {
            session: "work".to_owned(),
            loaded: 1,
            now: Some(2)
        }
    );
    assert!(error.to_string().contains("resume it again"), "{error}");
    let kept = second
        .load_session("work")
        .await
        .expect("loads")
        .expect("there");
    assert_eq!(
        (kept.tasks, kept.revision),
        (2, 2),
        "{}: the first save is kept",
        store.name
    );
    // Saved after the other removed it: refused, not brought back.
    assert!(first.delete_session("work").await.expect("deletes"));
    assert!(!first.delete_session("work").await.expect("deletes"));
    assert!(matches!(
        second.save_session(&kept).await,
        Err(StoreError::Changed { now: None, .. })
    ));
    assert_eq!(second.load_session("work").await.expect("loads"), None);
}

async fn a_session_removed_and_made_again_is_not_overwritten_by_a_save_from_before(store: Backend) {
    let (first, second) = (&store.first, &store.second);
    for expired in [false, true] {
        let id = format!("work-{expired}");
        // The first creates the session and runs a task in it; the second resumes it.
        let lifetime = if expired { 0 } else { LATER };
        let mut created = record(&id, LATER);
        created.revision = first.save_session(&created).await.expect("created");
        let stale = second
            .load_session(&id)
            .await
            .expect("loads")
            .expect("there");
        created.expires_ms = lifetime;
        created.revision = first.save_session(&created).await.expect("saved");
        // The session goes (removed, or expired and dropped when loaded), and a new one of
        // the same name is made and saved as often as the old one was.
        if expired {
            assert_eq!(first.load_session(&id).await.expect("loads"), None);
        } else {
            assert!(first.delete_session(&id).await.expect("deletes"));
        }
        let mut new = record(&id, LATER);
        new.tasks = 9;
        new.revision = first.save_session(&new).await.expect("made again");
        if new.revision < stale.revision {
            new.revision = first.save_session(&new).await.expect("saved again");
        }
        // The second still holds the old one: its save must not replace the new session.
        let saved = second.save_session(&stale).await;
        assert!(
            matches!(saved, Err(StoreError::Changed { .. })),
            "{}, expired {expired}: {saved:?}",
            store.name
        );
        let kept = first
            .load_session(&id)
            .await
            .expect("loads")
            .expect("there");
        assert_eq!(
            kept.tasks, 9,
            "{}, expired {expired}: the new session is kept",
            store.name
        );
    }
}

async fn a_session_made_again_does_not_inherit_events_appended_after_the_old_one_went(
    store: Backend,
) {
    let (first, second) = (&store.first, &store.second);
    // The second saves a task of the session; the first removes the session before the
    // second appends the task's events (two calls, and the removal between them).
    second
        .save_session(&record("work", LATER))
        .await
        .expect("saved");
    assert!(first.delete_session("work").await.expect("deletes"));
    second
        .append_events("work", &[event(1, "1")])
        .await
        .expect("appended to no session");
    // A new session of the name is made: its transcript is its own.
    first
        .save_session(&record("work", LATER))
        .await
        .expect("made again");
    assert_eq!(
        first
            .events("work", &EventQuery::default())
            .await
            .expect("events"),
        [],
        "{}: the removed session's late events",
        store.name
    );
}

async fn leases_refuse_other_holders_until_released_or_run_out(store: Backend) {
    let (first, second) = (&store.first, &store.second);
    let ttl = Duration::from_secs(60);
    // A lease guards a session that does not exist yet, too.
    first.lease_session("s", "a", ttl).await.expect("taken");
    let refused = second
        .lease_session("s", "b", ttl)
        .await
        .expect_err("held by a");
    assert!(
        matches!(&refused, StoreError::Leased { session, .. } if session == "s"),
        "{}: {refused:?}",
        store.name
    );
    // Its holder renews it; another session's lease is another's.
    first.lease_session("s", "a", ttl).await.expect("renewed");
    second.lease_session("t", "b", ttl).await.expect("taken");
    // Only its holder gives it back.
    assert!(!second.release_session("s", "b").await.expect("releases"));
    second
        .lease_session("s", "b", ttl)
        .await
        .expect_err("still held");
    assert!(first.release_session("s", "a").await.expect("releases"));
    assert!(!first.release_session("s", "a").await.expect("releases"));
    second.lease_session("s", "b", ttl).await.expect("free now");

    // A holder that crashed: its lease runs out by itself.
    first
        .lease_session("u", "crashed", Duration::from_millis(1))
        .await
        .expect("taken");
    tokio::time::sleep(Duration::from_millis(20)).await;
    second
        .lease_session("u", "b", ttl)
        .await
        .expect("the lease ran out");
    first
        .lease_session("u", "crashed", ttl)
        .await
        .expect_err("the crashed holder lost it");
    // The sweep removes the leases that ran out, not those that run.
    first
        .lease_session("v", "crashed", Duration::from_millis(1))
        .await
        .expect("taken");
    tokio::time::sleep(Duration::from_millis(20)).await;
    first.remove_expired().await.expect("sweeps");
    assert!(
        !first
            .release_session("v", "crashed")
            .await
            .expect("releases")
    );
    assert!(second.release_session("u", "b").await.expect("still held"));
}

async fn events_are_read_by_range_task_and_limit_and_appended_without_gaps(store: Backend) {
    let (first, second) = (&store.first, &store.second);
    assert_eq!(first.last_event("live").await.expect("last"), 0);
    first
        .append_events("live", &[event(1, "1"), event(2, "1")])
        .await
        .expect("appended");
    first
        .append_events("live", &[event(3, "2"), event(4, "2"), event(5, "3")])
        .await
        .expect("appended");
    first
        .append_events("other", &[event(1, "1")])
        .await
        .expect("appended");
    assert_eq!(second.last_event("live").await.expect("last"), 5);
    let read =
        async |query: EventQuery| numbers(&second.events("live", &query).await.expect("reads"));
    assert_eq!(read(EventQuery::default()).await, [1, 2, 3, 4, 5]);
    assert_eq!(read(EventQuery::after(2)).await, [3, 4, 5]);
    assert_eq!(read(EventQuery::after(1).through(3)).await, [2, 3]);
    assert_eq!(read(EventQuery::after(0).of_task("2")).await, [3, 4]);
    assert_eq!(read(EventQuery::after(3).of_task("2")).await, [4]);
    assert_eq!(read(EventQuery::after(0).limit(2)).await, [1, 2]);
    assert_eq!(read(EventQuery::after(5)).await, Vec::<u64>::new());
    assert_eq!(read(EventQuery::after(0).limit(0)).await, Vec::<u64>::new());
    assert_eq!(
        second
            .events("live", &EventQuery::default())
            .await
            .expect("reads")[2],
        event(3, "2"),
        "{}: an event reads back as it was",
        store.name
    );

    // A retry of events already stored is taken as done; a gap is refused, and nothing of
    // that append is kept.
    first
        .append_events("live", &[event(4, "2"), event(5, "3"), event(6, "3")])
        .await
        .expect("the stored ones are skipped");
    assert_eq!(read(EventQuery::after(3)).await, [4, 5, 6]);
    let gap = first
        .append_events("live", &[event(7, "4"), event(9, "4")])
        .await
        .expect_err("a gap");
    assert_eq!(
        gap,
        StoreError::EventGap {
            session: "live".to_owned(),
            expected: 8,
            got: 9
        }
    );
    assert_eq!(first.last_event("live").await.expect("last"), 6);

    // A long transcript is read in pages of at most MAX_EVENTS_READ.
    let long: Vec<StoredEvent> = (1..=MAX_EVENTS_READ as u64 + 10)
        .map(|seq| event(seq, "1"))
        .collect();
    first.append_events("long", &long).await.expect("appended");
    let page = second
        .events("long", &EventQuery::after(0).limit(usize::MAX))
        .await
        .expect("reads");
    assert_eq!(page.len(), MAX_EVENTS_READ);
    let rest = second
        .events("long", &EventQuery::after(page.last().expect("a page").seq))
        .await
        .expect("reads");
    assert_eq!(
        numbers(&rest),
        (MAX_EVENTS_READ as u64 + 1..=MAX_EVENTS_READ as u64 + 10).collect::<Vec<_>>()
    );

    // Removing the session removes its events, not another's.
    first
        .save_session(&record("live", LATER))
        .await
        .expect("saved");
    assert!(second.delete_session("live").await.expect("deletes"));
    assert_eq!(read(EventQuery::default()).await, Vec::<u64>::new());
    assert_eq!(first.last_event("other").await.expect("last"), 1);
}

async fn concurrent_writers_lose_nothing(store: Backend) {
    // Counters incremented from both handles at once.
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let kv = if writer % 2 == 0 {
                store.first.kv()
            } else {
                store.second.kv()
            };
            tokio::spawn(async move {
                for _ in 0..25 {
                    kv.incr("ns", "n", 1).await.expect("increments");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("no panic");
    }
    assert_eq!(store.first.kv().incr("ns", "n", 0).await, Ok(200));

    // Saves of one revision at once: exactly one wins, the others are refused.
    let created = record("s", LATER);
    let revision = store.first.save_session(&created).await.expect("created");
    let saves: Vec<_> = (0..8_u64)
        .map(|writer| {
            let store = if writer % 2 == 0 {
                Arc::clone(&store.first)
            } else {
                Arc::clone(&store.second)
            };
            let mut mine = created.clone();
            mine.revision = revision;
            mine.tasks = writer;
            tokio::spawn(async move { store.save_session(&mine).await })
        })
        .collect();
    let mut won = Vec::new();
    for save in saves {
        match save.await.expect("no panic") {
            Ok(revision) => won.push(revision),
            Err(StoreError::Changed { .. }) => {}
            Err(other) => panic!("{}: {other}", store.name),
        }
    }
    assert_eq!(won, [revision + 1], "{}", store.name);

    // Leases taken at once by eight holders: exactly one holds it.
    let takers: Vec<_> = (0..8)
        .map(|holder| {
            let store = if holder % 2 == 0 {
                Arc::clone(&store.first)
            } else {
                Arc::clone(&store.second)
            };
            tokio::spawn(async move {
                store
                    .lease_session("s", &holder.to_string(), Duration::from_secs(60))
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut held = 0;
    for taker in takers {
        held += usize::from(taker.await.expect("no panic"));
    }
    assert_eq!(held, 1, "{}", store.name);
}
