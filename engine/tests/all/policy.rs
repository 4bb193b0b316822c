//! Policy specs: validated once into a policy, narrowed by a request and never widened, and the
//! hint of a refusal given by whoever made the policy.

use std::sync::Arc;

use watsmith_engine::{
    AiBudget, FsSpec, KvStore, Limits, LimitsSpec, MemoryKv, Policy, PolicyError, PolicySpec,
    Registry, Resources, Status, StatusCode, Widening,
};

fn spec(json: &str) -> PolicySpec {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn resources() -> Resources {
    let kv: Arc<dyn KvStore> = Arc::new(MemoryKv::new());
    Resources {
        kv: Some(kv),
        model: None,
    }
}

#[test]
fn settings_grant_their_capability_and_names_are_checked() {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path().to_str().expect("utf-8");
    let full = spec(&format!(
        r#"{{"capabilities": ["str", "time"], "hosts": ["example.com"], "fs": {{"root": {root:?}}},
            "kv_namespace": "notes", "seed": 7}}"#
    ));
    let policy = full
        .resolve(&Registry::builtin(), &resources())
        .expect("valid");
    assert_eq!(
        policy.granted(),
        ["core", "fs", "http", "kv", "rand", "str", "time"]
    );
    assert_eq!(
        policy
            .settings::<watsmith_engine::KvGrant>()
            .map(|g| g.namespace()),
        Some("notes")
    );
    assert_eq!(
        policy
            .settings::<watsmith_engine::RandGrant>()
            .map(|g| g.seed),
        Some(7)
    );

    let unknown = spec(r#"{"capabilities": ["teleport"]}"#)
        .resolve(&Registry::builtin(), &resources())
        .expect_err("unknown");
    assert_eq!(
        unknown.to_string(),
        "unknown capability `teleport`; known: core, str, arr, json, math, http, time, rand, kv, fs, ai"
    );
    for (json, error) in [
        (
            r#"{"capabilities": ["http"]}"#,
            PolicyError::MissingSettings {
                capability: "http",
                needs: "hosts",
            },
        ),
        (
            r#"{"capabilities": ["fs"]}"#,
            PolicyError::MissingSettings {
                capability: "fs",
                needs: "an fs root",
            },
        ),
        (r#"{"capabilities": ["ai"]}"#, PolicyError::NoModel),
    ] {
        assert_eq!(
            spec(json).resolve(&Registry::builtin(), &resources()).err(),
            Some(error),
            "{json}"
        );
    }
    assert_eq!(
        spec(r#"{"capabilities": ["kv"]}"#)
            .resolve(&Registry::builtin(), &Resources::default())
            .err(),
        Some(PolicyError::NoKvStore)
    );
    assert!(matches!(
        spec(r#"{"kv_namespace": ""}"#).resolve(&Registry::builtin(), &resources()),
        Err(PolicyError::KvNamespace { .. })
    ));
    assert!(matches!(
        spec(r#"{"hosts": ["http://x.com/"]}"#).resolve(&Registry::builtin(), &resources()),
        Err(PolicyError::HostRule(_))
    ));
    let missing_root = spec(r#"{"fs": {"root": "/nonexistent/watsmith-root"}}"#)
        .resolve(&Registry::builtin(), &resources())
        .expect_err("no such root");
    assert!(
        missing_root
            .to_string()
            .starts_with("the fs root `/nonexistent/watsmith-root` cannot be used"),
        "{missing_root}"
    );
    // Unknown fields are refused by the serde form itself.
    let typo = serde_json::from_str::<PolicySpec>(r#"{"host": ["example.com"]}"#)
        .expect_err("unknown field");
    assert!(typo.to_string().contains("unknown field `host`"), "{typo}");
}

#[test]
fn kv_and_rand_default_their_settings_when_named() {
    let policy = spec(r#"{"capabilities": ["kv", "rand"]}"#)
        .resolve(&Registry::builtin(), &resources())
        .expect("valid");
    assert_eq!(
        policy
            .settings::<watsmith_engine::KvGrant>()
            .map(|g| g.namespace()),
        Some("default")
    );
    assert_eq!(
        policy
            .settings::<watsmith_engine::RandGrant>()
            .map(|g| g.seed),
        Some(0)
    );
}

/// Caps with every capability, used by the narrowing tests.
fn caps(root: &str) -> PolicySpec {
    spec(&format!(
        r#"{{"capabilities": ["str", "math", "time"],
            "hosts": ["*.example.com", "api.other.org:8443", "127.0.0.1:8080"],
            "fs": {{"root": {root:?}, "write": false}},
            "ai": {{"max_calls": 2, "max_tokens": 1000}}}}"#
    ))
}

#[test]
fn a_request_within_the_caps_is_what_it_asks_for() {
    let caps = caps("/srv/data");
    let narrowed = caps
        .narrow(&spec(
            r#"{"capabilities": ["str"], "hosts": ["api.example.com", "*.eu.example.com", "127.0.0.1:8080"],
                "fs": {"root": "reports/2026"}, "ai": {"max_calls": 1}}"#,
        ))
        .expect("within the caps");
    assert_eq!(
        narrowed.granted().into_iter().collect::<Vec<_>>(),
        ["ai", "fs", "http", "str"]
    );
    assert_eq!(
        narrowed.hosts,
        ["api.example.com", "*.eu.example.com", "127.0.0.1:8080"]
    );
    let fs = narrowed.fs.expect("fs");
    assert_eq!(fs.jail(), std::path::Path::new("/srv/data/reports/2026"));
    assert_eq!(
        fs.root,
        std::path::Path::new("/srv/data"),
        "opened through the caps' root"
    );
    assert_eq!(
        narrowed.ai,
        Some(AiBudget {
            max_calls: Some(1),
            max_tokens: Some(1000)
        }),
        "the budget left out is the caps'"
    );
    // An absolute root inside the caps' is the same jail.
    let absolute = caps
        .narrow(&spec(r#"{"fs": {"root": "/srv/data/reports"}}"#))
        .expect("inside");
    assert_eq!(
        absolute.fs.expect("fs").jail(),
        std::path::Path::new("/srv/data/reports")
    );
    // Naming a capability with settings takes the caps' settings.
    let named = caps
        .narrow(&spec(r#"{"capabilities": ["http", "fs"]}"#))
        .expect("within");
    assert_eq!(named.hosts, caps.hosts);
    assert_eq!(named.fs, caps.fs);
    // Nothing asked, nothing granted: the caps are a ceiling, not a default.
    assert!(
        caps.narrow(&PolicySpec::default())
            .expect("empty")
            .granted()
            .is_empty()
    );
}

#[test]
fn a_request_is_never_widened() {
    let caps = caps("/srv/data");
    for (request, why) in [
        (
            r#"{"capabilities": ["kv"]}"#,
            "`kv` is not among the capabilities allowed",
        ),
        (r#"{"seed": 1}"#, "`rand` is not among"),
        (
            r#"{"hosts": ["example.com"]}"#,
            "`example.com` is not covered",
        ),
        (r#"{"hosts": ["evil-example.com"]}"#, "not covered"),
        (r#"{"hosts": ["*"]}"#, "not covered"),
        (r#"{"hosts": ["api.other.org"]}"#, "not covered"),
        (r#"{"hosts": ["api.other.org:9000"]}"#, "not covered"),
        (r#"{"hosts": ["127.0.0.1"]}"#, "not covered"),
        (r#"{"hosts": ["10.0.0.1:8080"]}"#, "not covered"),
        (
            r#"{"fs": {"root": "/srv"}}"#,
            "is not inside the root allowed",
        ),
        (r#"{"fs": {"root": "/srv/data-other"}}"#, "is not inside"),
        (r#"{"fs": {"root": "../etc"}}"#, "is not inside"),
        (r#"{"fs": {"root": "reports/../../etc"}}"#, "is not inside"),
        (r#"{"fs": {"root": "reports", "write": true}}"#, "read-only"),
        (
            r#"{"ai": {"max_calls": 3}}"#,
            "3 AI calls per run; at most 2",
        ),
        (r#"{"ai": {"max_tokens": 1001}}"#, "at most 1000"),
    ] {
        let Err(Widening(message)) = caps.narrow(&spec(request)) else {
            panic!("{request} was allowed");
        };
        assert!(message.contains(why), "{request}: {message}");
    }
    // `*` covers any name, but never an address: only a rule naming one reaches a private one.
    let any = spec(r#"{"hosts": ["*"]}"#);
    assert!(
        any.narrow(&spec(r#"{"hosts": ["*.anything.net", "x.org:99"]}"#))
            .is_ok()
    );
    assert!(
        any.narrow(&spec(r#"{"hosts": ["169.254.169.254"]}"#))
            .is_err()
    );
    assert!(any.narrow(&spec(r#"{"hosts": ["[::1]:8080"]}"#)).is_err());
}

#[test]
fn pinned_settings_stay_pinned_and_never_grant_by_themselves() {
    let caps = spec(r#"{"kv_namespace": "team", "seed": 5, "capabilities": ["str"]}"#);
    // The caps' namespace is not a grant of kv to a request that did not ask for kv.
    let plain = caps
        .narrow(&spec(r#"{"capabilities": ["str"]}"#))
        .expect("within");
    assert!(!plain.grants("kv") && !plain.grants("rand"), "{plain:?}");
    let kv = caps
        .narrow(&spec(r#"{"capabilities": ["kv"]}"#))
        .expect("within");
    assert_eq!(kv.kv(), Some("team"));
    assert!(caps.narrow(&spec(r#"{"kv_namespace": "other"}"#)).is_err());
    assert_eq!(
        caps.narrow(&spec(r#"{"seed": 5}"#)).expect("the same").seed,
        Some(5)
    );
    assert!(caps.narrow(&spec(r#"{"seed": 6}"#)).is_err());
    // Unpinned, a request chooses.
    let open = spec(r#"{"capabilities": ["kv", "rand"]}"#);
    let chosen = open
        .narrow(&spec(r#"{"kv_namespace": "mine", "seed": 9}"#))
        .expect("within");
    assert_eq!((chosen.kv(), chosen.seed), (Some("mine"), Some(9)));
}

#[test]
fn narrowing_twice_is_never_wider_than_the_first_caps() {
    // A server's caps, narrowed by a session, narrowed by a task: each step within the last.
    let caps = caps("/srv/data");
    let session = caps
        .narrow(&spec(
            r#"{"hosts": ["*.eu.example.com"], "fs": {"root": "eu"}}"#,
        ))
        .expect("session");
    assert!(
        session
            .narrow(&spec(r#"{"hosts": ["api.example.com"]}"#))
            .is_err()
    );
    assert!(
        session
            .narrow(&spec(r#"{"fs": {"root": "/srv/data"}}"#))
            .is_err()
    );
    let task = session
        .narrow(&spec(
            r#"{"hosts": ["a.eu.example.com"], "fs": {"root": "2026"}}"#,
        ))
        .expect("task");
    assert_eq!(
        task.fs.expect("fs").jail(),
        std::path::Path::new("/srv/data/eu/2026")
    );
}

#[test]
fn limits_narrow_down_and_never_up() {
    let caps = LimitsSpec {
        fuel: Some(1_000_000),
        timeout_ms: Some(500),
        memory_mb: Some(16),
        ..LimitsSpec::default()
    };
    let narrowed = caps
        .narrow(&LimitsSpec {
            fuel: Some(1000),
            ..LimitsSpec::default()
        })
        .expect("lower");
    let limits = narrowed.apply(Limits::default()).expect("valid");
    assert_eq!(limits.fuel, Some(1000));
    assert_eq!(limits.timeout, std::time::Duration::from_millis(500));
    assert_eq!(limits.memory_bytes, 16 << 20);
    for (request, why) in [
        (
            LimitsSpec {
                fuel: Some(0),
                ..LimitsSpec::default()
            },
            "unlimited fuel",
        ),
        (
            LimitsSpec {
                fuel: Some(1_000_001),
                ..LimitsSpec::default()
            },
            "fuel of 1000001",
        ),
        (
            LimitsSpec {
                timeout_ms: Some(501),
                ..LimitsSpec::default()
            },
            "a deadline of 501 ms",
        ),
        (
            LimitsSpec {
                memory_mb: Some(17),
                ..LimitsSpec::default()
            },
            "memory of 17 MiB",
        ),
        (
            LimitsSpec {
                max_io_ops: Some(10_001),
                ..LimitsSpec::default()
            },
            "storage operations of 10001",
        ),
    ] {
        let Err(Widening(message)) = caps.narrow(&request) else {
            panic!("{request:?} was allowed");
        };
        assert!(message.contains(why), "{message}");
    }
    // Caps that say nothing are the defaults.
    assert!(
        LimitsSpec::default()
            .narrow(&LimitsSpec {
                timeout_ms: Some(60_000),
                ..LimitsSpec::default()
            })
            .is_err()
    );
    let bad = LimitsSpec {
        memory_mb: Some(5000),
        ..LimitsSpec::default()
    };
    assert_eq!(
        bad.apply(Limits::default())
            .expect_err("too much")
            .to_string(),
        "the limit `memory_mb` must be 1 to 4096 (the 32-bit address space)"
    );
}

#[test]
fn a_refusal_says_how_whoever_made_the_policy_grants_it() {
    let engine = super::engine();
    let body = r#"(local $v str) (check $v (call $kv.get "k"))"#;
    let plain = engine.exec(body, vec![], &Policy::standard(), &Limits::default());
    assert_eq!(plain.code, Some(StatusCode::EACCESS));
    assert_eq!(
        plain.diagnostics[0].hint.as_deref(),
        Some("the run's policy must allow `kv`, or solve the task without it")
    );
    let hinted = Policy::standard().with_hint(Arc::new(|capability: &str| {
        (capability == "kv").then(|| "`--allow kv`".to_owned())
    }));
    let outcome = engine.exec(body, vec![], &hinted, &Limits::default());
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(StatusCode::EACCESS))
    );
    assert_eq!(
        outcome.diagnostics[0].hint.as_deref(),
        Some("the run's policy must allow `kv` (`--allow kv`), or solve the task without it")
    );
}

#[test]
fn a_spec_and_its_fs_round_trip_through_json() {
    let mut spec = PolicySpec::standard();
    spec.allow_hosts(["example.com"])
        .allow_fs(FsSpec::read_write("/data"))
        .allow_kv("ns");
    let json = serde_json::to_string(&spec).expect("serialises");
    assert_eq!(
        json,
        r#"{"capabilities":["arr","json","math","str"],"hosts":["example.com"],"fs":{"root":"/data","write":true},"kv_namespace":"ns"}"#
    );
    assert_eq!(
        serde_json::from_str::<PolicySpec>(&json).expect("parses"),
        spec
    );
}

#[test]
fn a_narrowed_fs_jail_cannot_follow_a_symlink_to_a_sibling() {
    // root/caps is the caps' jail; root/sibling is beside it; root/caps/link leads there.
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("caps/own")).expect("mkdir");
    std::fs::create_dir_all(root.join("sibling")).expect("mkdir");
    std::fs::write(root.join("sibling/secret.txt"), "secret").expect("write");
    std::os::unix::fs::symlink("../sibling", root.join("caps/link")).expect("symlink");
    let server = spec(&format!(
        r#"{{"fs": {{"root": {:?}}}}}"#,
        root.to_str().expect("utf-8")
    ));
    let caps = server
        .narrow(&spec(r#"{"fs": {"root": "caps"}}"#))
        .expect("inside");
    let registry = Registry::builtin();
    // The link, asked for as the jail, leads outside the caps' jail: refused when resolved.
    let through_link = caps
        .narrow(&spec(r#"{"fs": {"root": "link"}}"#))
        .expect("the path itself is inside");
    assert_eq!(
        through_link.fs.as_ref().expect("fs").within,
        ["caps", "link"].map(std::path::PathBuf::from),
        "one level per narrowing"
    );
    let error = through_link
        .resolve(&registry, &resources())
        .expect_err("the link leads out");
    assert!(
        matches!(&error, PolicyError::FsRoot { reason, .. } if reason.contains("cannot open the jail `link`")),
        "{error}"
    );
    // A directory that really is inside resolves.
    let own = caps
        .narrow(&spec(r#"{"fs": {"root": "own"}}"#))
        .expect("inside");
    own.resolve(&registry, &resources())
        .expect("inside the caps");
}

#[test]
fn caps_without_ai_budgets_give_the_default_ones_and_no_more() {
    let caps = spec(r#"{"capabilities": ["ai"]}"#);
    let defaults = Limits::default();
    let within = caps
        .narrow(&spec(&format!(
            r#"{{"ai": {{"max_calls": {}, "max_tokens": {}}}}}"#,
            defaults.max_ai_calls, defaults.max_ai_tokens
        )))
        .expect("the defaults are within");
    assert_eq!(
        within.ai.and_then(|ai| ai.max_calls),
        Some(defaults.max_ai_calls)
    );
    for request in [
        format!(
            r#"{{"ai": {{"max_calls": {}}}}}"#,
            defaults.max_ai_calls + 1
        ),
        format!(
            r#"{{"ai": {{"max_tokens": {}}}}}"#,
            defaults.max_ai_tokens + 1
        ),
    ] {
        let Err(Widening(message)) = caps.narrow(&spec(&request)) else {
            panic!("{request} was allowed");
        };
        assert!(message.contains("at most"), "{request}: {message}");
    }
}

#[test]
fn a_request_cannot_carry_its_own_within_out_of_the_caps() {
    // `within` is a field of the spec: a request may send it, and it counts as part of its jail.
    let caps = caps("/srv/data");
    for request in [
        r#"{"fs": {"root": "/srv/data", "within": ["/etc"]}}"#,
        r#"{"fs": {"root": "reports", "within": ["/srv/data-other"]}}"#,
        r#"{"fs": {"root": "reports", "within": ["../../etc"]}}"#,
        r#"{"fs": {"root": "/srv/data/reports", "within": ["..", ".."]}}"#,
        r#"{"fs": {"root": "", "within": ["/"]}}"#,
        r#"{"fs": {"root": "/srv/data/.."}}"#,
        r#"{"fs": {"root": "/srv/data/reports/../.."}}"#,
    ] {
        let Err(Widening(message)) = caps.narrow(&spec(request)) else {
            panic!("{request} was allowed");
        };
        assert!(message.contains("is not inside"), "{request}: {message}");
    }
    for (request, jail) in [
        (
            r#"{"fs": {"root": "/srv/data", "within": ["a"]}}"#,
            "/srv/data/a",
        ),
        (
            r#"{"fs": {"root": "./a/.", "within": ["", "."]}}"#,
            "/srv/data/a",
        ),
        (r#"{"fs": {"root": "", "within": []}}"#, "/srv/data"),
    ] {
        let narrowed = caps.narrow(&spec(request)).expect("inside");
        let fs = narrowed.fs.expect("fs");
        assert_eq!(fs.root, std::path::Path::new("/srv/data"), "{request}");
        assert_eq!(fs.jail(), std::path::Path::new(jail), "{request}");
    }
}
