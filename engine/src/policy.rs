//! What a run may do: the [`Policy`] a run is checked against, and the [`PolicySpec`] it is made
//! from.
//!
//! A `PolicySpec` is data (a serde struct, `deny_unknown_fields`): a configuration file, a
//! command line or an HTTP request says in it which capabilities a run gets and with which
//! settings. [`PolicySpec::resolve`] validates it once, against the engine's registry and the
//! resources the caller holds (a kv store, a language model), and gives the `Policy` the engine
//! checks on every run; every problem is a typed [`PolicyError`]. A spec can be narrowed by
//! another ([`PolicySpec::narrow`]: a server's caps narrowed by a request), and never widened:
//! asking for anything the caps do not give is a [`Widening`] error, not a silent clamp.
//!
//! ```
//! use watsmith_engine::{PolicySpec, Registry, Resources};
//!
//! let caps: PolicySpec = serde_json::from_str(
//!     r#"{"capabilities": ["str", "math"], "hosts": ["*.example.com"]}"#,
//! ).expect("a spec");
//! let request: PolicySpec = serde_json::from_str(r#"{"hosts": ["api.example.com"]}"#).expect("a spec");
//! let narrowed = caps.narrow(&request).expect("within the caps");
//! let policy = narrowed.resolve(&Registry::builtin(), &Resources::default()).expect("valid");
//! assert!(policy.grants("http") && !policy.grants("math"));
//!
//! let wider: PolicySpec = serde_json::from_str(r#"{"hosts": ["example.org"]}"#).expect("a spec");
//! assert!(caps.narrow(&wider).is_err());
//! ```
//!
//! In the serialized form, a setting grants its capability: `hosts` grants `http`, `fs` grants
//! `fs`, `kv_namespace` grants `kv`, `seed` grants `rand`, `ai` grants `ai`. Capabilities
//! without settings (`str`, `time`, ...) are listed in `capabilities`, which may also name those
//! that have defaults: `kv` (the namespace [`KvGrant::DEFAULT_NAMESPACE`]), `rand` (the seed
//! [`DEFAULT_SEED`]) and `ai` (the default budgets). `http` and `fs` cannot be granted without
//! their settings.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::capabilities::ai::{self, AiGrant, Model};
use crate::capabilities::fs::{self, FsGrant};
use crate::capabilities::http::{self, HostRule, HostRuleError, HttpGrant};
use crate::capabilities::kv::{self, KvGrant, KvStore};
use crate::capabilities::random::{self, DEFAULT_SEED, RandGrant};
use crate::capability::Registry;
use crate::limits::{KV_MAX_NAMESPACE_NAME_BYTES, Limits};

/// Settings of a capability's grant, which know the capability they are for: [`Policy::grant`]
/// needs no name.
pub trait GrantSettings: Any + Send + Sync {
    /// The capability these settings grant.
    const CAPABILITY: &'static str;
}

/// How a run may use one capability: granted, with optional settings the capability reads when
/// it builds the run's state (a jail root, a host allowlist, a seed, a model).
#[derive(Clone, Default)]
pub struct Grant {
    settings: Option<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("settings", &self.settings.as_ref().map(|_| ".."))
            .finish()
    }
}

impl Grant {
    /// The settings, if they were given and are of type `T`.
    pub fn settings<T: Any>(&self) -> Option<&T> {
        self.settings.as_deref()?.downcast_ref()
    }
}

/// How whoever grants a policy is asked for a capability, as a short phrase for a refusal's hint
/// (`--allow kv` on the command line; the field of a request on a server). `None` leaves the
/// engine's generic hint.
pub type GrantHint = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Which capabilities a run may use. `core` is always granted; everything else is denied unless
/// allowed.
#[derive(Clone, Default)]
pub struct Policy {
    grants: BTreeMap<String, Grant>,
    hint: Option<GrantHint>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// The capability that every program has: arguments, results, allocation and logging.
    pub const ALWAYS: &'static str = crate::capabilities::core::NAME;

    /// Capabilities that compute without reaching outside the run and give the same results on
    /// every run: [`Policy::standard`] grants them.
    pub const COMPUTE: [&'static str; 4] = [
        crate::capabilities::str::NAME,
        crate::capabilities::arr::NAME,
        crate::capabilities::json::NAME,
        crate::capabilities::math::NAME,
    ];

    /// A policy that grants only `core`.
    pub fn deny_all() -> Self {
        Self::default()
    }

    /// `core` and the compute-only capabilities ([`Policy::COMPUTE`]); nothing that reads or
    /// writes outside the run (kv, fs, http, ai) or makes it irreproducible (time, rand).
    pub fn standard() -> Self {
        Self::COMPUTE
            .iter()
            .fold(Self::deny_all(), |policy, name| policy.allow(*name))
    }

    /// Grants a capability with its default settings.
    pub fn allow(mut self, capability: impl Into<String>) -> Self {
        self.grants.insert(capability.into(), Grant::default());
        self
    }

    /// Grants the capability `settings` are for, with them.
    pub fn grant<T: GrantSettings>(mut self, settings: T) -> Self {
        let grant = Grant {
            settings: Some(Arc::new(settings)),
        };
        self.grants.insert(T::CAPABILITY.to_owned(), grant);
        self
    }

    /// The policy, with `hint` saying how a refused capability is asked for.
    pub fn with_hint(mut self, hint: GrantHint) -> Self {
        self.hint = Some(hint);
        self
    }

    /// Whether the capability is granted.
    pub fn grants(&self, capability: &str) -> bool {
        capability == Self::ALWAYS || self.grants.contains_key(capability)
    }

    /// The grant of a capability, if it is granted (`core` has the default grant).
    pub fn grant_of(&self, capability: &str) -> Option<Grant> {
        match self.grants.get(capability) {
            Some(grant) => Some(grant.clone()),
            None => (capability == Self::ALWAYS).then(Grant::default),
        }
    }

    /// The settings of `T`'s capability, if it is granted with them.
    pub fn settings<T: GrantSettings>(&self) -> Option<&T> {
        self.grants.get(T::CAPABILITY)?.settings::<T>()
    }

    /// The granted capabilities' names, sorted (`core` included).
    pub fn granted(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.grants.keys().map(String::as_str).collect();
        if !names.contains(&Self::ALWAYS) {
            names.push(Self::ALWAYS);
        }
        names.sort_unstable();
        names
    }

    /// How `capability` is asked for, if whoever made the policy said.
    pub(crate) fn how_to_grant(&self, capability: &str) -> Option<String> {
        self.hint.as_ref().and_then(|hint| hint(capability))
    }
}

/// The `fs` part of a [`PolicySpec`]: the jail root, and whether runs may write under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsSpec {
    /// The directory every path of a run is relative to.
    pub root: PathBuf,
    /// Directories under `root` that jail the run in turn, each relative to the one before
    /// (what narrowing a spec with a root inside another's gives: one level per narrowing).
    /// Each is opened through the one above it, so a symlink inside a narrowed jail cannot
    /// lead to a sibling of it. Relative, without `..`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub within: Vec<PathBuf>,
    /// Whether runs may write, append, delete and make directories. Default: no.
    #[serde(default)]
    pub write: bool,
}

impl FsSpec {
    /// Reading under `root`.
    pub fn read_only(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            within: Vec::new(),
            write: false,
        }
    }

    /// Reading and writing under `root`.
    pub fn read_write(root: impl Into<PathBuf>) -> Self {
        Self {
            write: true,
            ..Self::read_only(root)
        }
    }

    /// The directory runs are jailed in.
    pub fn jail(&self) -> PathBuf {
        self.within
            .iter()
            .fold(self.root.clone(), |jail, dir| jail.join(dir))
    }
}

/// The AI budgets of a [`PolicySpec`]: per run, on top of [`Limits`]' defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiBudget {
    /// Completions per run (default [`Limits::max_ai_calls`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_calls: Option<u32>,
    /// Tokens per run, prompt and completion (default [`Limits::max_ai_tokens`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
}

/// What a run may do, as data: see the [module documentation](self).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySpec {
    /// Capabilities granted besides `core` and those the settings below grant.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub capabilities: BTreeSet<String>,
    /// Hosts `http` may reach: `api.example.com`, `*.example.com`, `example.com:8443`,
    /// `127.0.0.1:8080`, `*` (see [`HttpGrant::new`]). Grants `http`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// The `fs` jail. Grants `fs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fs: Option<FsSpec>,
    /// The `kv` namespace. Grants `kv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kv_namespace: Option<String>,
    /// The seed of `rand`. Grants `rand`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The AI budgets. Grants `ai`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai: Option<AiBudget>,
}

/// What a policy needs besides its spec: the resources the caller holds for the capabilities
/// that reach outside the engine.
#[derive(Clone, Default)]
pub struct Resources {
    /// Where `kv` keeps its namespaces.
    pub kv: Option<Arc<dyn KvStore>>,
    /// The model `ai` asks.
    pub model: Option<Arc<dyn Model>>,
}

impl std::fmt::Debug for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resources")
            .field("kv", &self.kv.as_ref().map(|kv| kv.describe()))
            .field("model", &self.model.as_ref().map(|m| m.label()))
            .finish()
    }
}

/// A [`PolicySpec`] that cannot be made into a [`Policy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A capability the engine does not have.
    #[error("unknown capability `{name}`; known: {}", known.join(", "))]
    UnknownCapability {
        /// The name given.
        name: String,
        /// The engine's capabilities.
        known: Vec<String>,
    },
    /// A capability that cannot be granted without its settings.
    #[error("`{capability}` is granted without {needs}")]
    MissingSettings {
        /// The capability.
        capability: &'static str,
        /// What it needs (`hosts`, `an fs root`).
        needs: &'static str,
    },
    /// A host rule that does not parse.
    #[error(transparent)]
    HostRule(#[from] HostRuleError),
    /// The fs root is not a directory that can be used.
    #[error("the fs root `{}` {reason}", root.display())]
    FsRoot {
        /// The root (and jail directory) given.
        root: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// The kv namespace is empty or too long.
    #[error("the kv namespace {namespace:?} {reason}")]
    KvNamespace {
        /// The namespace given.
        namespace: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// `kv` is granted and the caller holds no store for it.
    #[error("`kv` is granted and no kv store is available")]
    NoKvStore,
    /// `ai` is granted and the caller holds no model for it.
    #[error("`ai` is granted and no language model is configured")]
    NoModel,
}

/// A request for more than the caps give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the policy asks for more than allowed: {0}")]
pub struct Widening(pub String);

impl PolicySpec {
    /// A spec granting `core` and the compute-only capabilities ([`Policy::COMPUTE`]).
    pub fn standard() -> Self {
        Self {
            capabilities: Policy::COMPUTE.iter().map(|c| (*c).to_owned()).collect(),
            ..Self::default()
        }
    }

    /// Grants a capability by name (validated by [`PolicySpec::resolve`]).
    pub fn allow(&mut self, capability: impl Into<String>) -> &mut Self {
        self.capabilities.insert(capability.into());
        self
    }

    /// Grants `http` to `hosts` (added to any given before).
    pub fn allow_hosts<S: Into<String>>(
        &mut self,
        hosts: impl IntoIterator<Item = S>,
    ) -> &mut Self {
        self.hosts.extend(hosts.into_iter().map(Into::into));
        self
    }

    /// Grants `fs` under a jail.
    pub fn allow_fs(&mut self, fs: FsSpec) -> &mut Self {
        self.fs = Some(fs);
        self
    }

    /// Grants `kv` in `namespace`.
    pub fn allow_kv(&mut self, namespace: impl Into<String>) -> &mut Self {
        self.kv_namespace = Some(namespace.into());
        self
    }

    /// Grants `rand` with `seed`.
    pub fn allow_rand(&mut self, seed: u64) -> &mut Self {
        self.seed = Some(seed);
        self
    }

    /// Every capability the spec grants besides `core`, its settings' included, sorted.
    pub fn granted(&self) -> BTreeSet<String> {
        let mut granted = self.capabilities.clone();
        let implied = [
            (!self.hosts.is_empty(), http::NAME),
            (self.fs.is_some(), fs::NAME),
            (self.kv_namespace.is_some(), kv::NAME),
            (self.seed.is_some(), random::NAME),
            (self.ai.is_some(), ai::NAME),
        ];
        for (given, name) in implied {
            if given {
                granted.insert(name.to_owned());
            }
        }
        granted.remove(Policy::ALWAYS);
        granted
    }

    /// Whether the spec grants `capability` (by name or through its settings).
    pub fn grants(&self, capability: &str) -> bool {
        capability == Policy::ALWAYS || self.granted().contains(capability)
    }

    /// The kv namespace runs see, if `kv` is granted.
    pub fn kv(&self) -> Option<&str> {
        self.grants(kv::NAME).then(|| {
            self.kv_namespace
                .as_deref()
                .unwrap_or(KvGrant::DEFAULT_NAMESPACE)
        })
    }

    /// The spec with its kv namespace (if `kv` is granted) replaced by `namespace`: a session's
    /// own, for instance. A spec without `kv` is returned as it is.
    pub fn in_kv_namespace(mut self, namespace: impl Into<String>) -> Self {
        if self.grants(kv::NAME) {
            self.kv_namespace = Some(namespace.into());
        }
        self
    }

    /// Settings for the capabilities this spec grants that need them and have none, taken from
    /// `offer` (a catalog example's fixture world: its server, its directory, its namespace);
    /// capabilities the spec does not grant get nothing from it.
    pub fn settle(mut self, offer: &PolicySpec) -> Self {
        let granted = self.capabilities.clone();
        if granted.contains(http::NAME) && self.hosts.is_empty() {
            self.hosts = offer.hosts.clone();
        }
        if granted.contains(fs::NAME) && self.fs.is_none() {
            self.fs = offer.fs.clone();
        }
        if granted.contains(kv::NAME) && self.kv_namespace.is_none() {
            self.kv_namespace = offer.kv_namespace.clone();
        }
        if granted.contains(random::NAME) && self.seed.is_none() {
            self.seed = offer.seed;
        }
        if granted.contains(ai::NAME) && self.ai.is_none() {
            self.ai = offer.ai;
        }
        self
    }

    /// The limits of a run under this spec: `limits`, with the spec's AI budgets.
    pub fn limits(&self, mut limits: Limits) -> Limits {
        if let Some(budget) = self.ai {
            if let Some(calls) = budget.max_calls {
                limits.max_ai_calls = calls;
            }
            if let Some(tokens) = budget.max_tokens {
                limits.max_ai_tokens = tokens;
            }
        }
        limits
    }

    /// The policy this spec describes on an engine with `registry`, using `resources` for `kv`
    /// and `ai`: validated here once (names, host rules, the fs root, the namespace, the
    /// resources a capability needs), so that a run never meets a half-made grant.
    pub fn resolve(
        &self,
        registry: &Registry,
        resources: &Resources,
    ) -> Result<Policy, PolicyError> {
        let mut policy = Policy::deny_all();
        for name in self.granted() {
            let Some(capability) = registry.get(&name) else {
                return Err(PolicyError::UnknownCapability {
                    name,
                    known: registry.iter().map(|c| c.name().to_owned()).collect(),
                });
            };
            policy = match capability.name() {
                http::NAME => {
                    if self.hosts.is_empty() {
                        return Err(PolicyError::MissingSettings {
                            capability: http::NAME,
                            needs: "hosts",
                        });
                    }
                    policy.grant(HttpGrant::new(&self.hosts)?)
                }
                fs::NAME => {
                    let spec = self.fs.as_ref().ok_or(PolicyError::MissingSettings {
                        capability: fs::NAME,
                        needs: "an fs root",
                    })?;
                    policy.grant(fs_grant(spec)?)
                }
                kv::NAME => {
                    let namespace = self.kv().unwrap_or(KvGrant::DEFAULT_NAMESPACE);
                    check_namespace(namespace)?;
                    let store = resources.kv.clone().ok_or(PolicyError::NoKvStore)?;
                    policy.grant(KvGrant::new(store, namespace))
                }
                random::NAME => policy.grant(RandGrant {
                    seed: self.seed.unwrap_or(DEFAULT_SEED),
                }),
                ai::NAME => {
                    let model = resources.model.clone().ok_or(PolicyError::NoModel)?;
                    policy.grant(AiGrant::new(model))
                }
                other => policy.allow(other),
            };
        }
        Ok(policy)
    }

    /// This spec (the caps) narrowed by `request`: what the request asks for, if the caps give
    /// all of it; budgets the request leaves out are the caps'. Never wider than `self`.
    ///
    /// - capabilities: the request's must all be granted by the caps;
    /// - hosts: each rule of the request must be covered by a rule of the caps (`*.example.com`
    ///   covers `api.example.com` and `*.api.example.com`; `*` covers any name but no IP
    ///   address, since only a rule naming an address lets a run reach a private one);
    /// - fs: the request's root must lie inside the caps' jail (a relative root is taken inside
    ///   it; `..` is refused), and it may write only if the caps may;
    /// - kv namespace and seed: a request may choose them unless the caps set them;
    /// - AI budgets: at most the caps' (the default budgets where the caps set none).
    pub fn narrow(&self, request: &PolicySpec) -> Result<PolicySpec, Widening> {
        let caps = self.granted();
        for capability in request.granted() {
            if !caps.contains(&capability) {
                return Err(Widening(format!(
                    "`{capability}` is not among the capabilities allowed ({})",
                    if caps.is_empty() {
                        "none but core".to_owned()
                    } else {
                        caps.iter().cloned().collect::<Vec<_>>().join(", ")
                    }
                )));
            }
        }
        let mut narrowed = PolicySpec {
            capabilities: request.capabilities.clone(),
            ..PolicySpec::default()
        };
        if !request.hosts.is_empty() {
            narrowed.hosts = narrow_hosts(&self.hosts, &request.hosts)?;
        } else if request.capabilities.contains(http::NAME) {
            narrowed.hosts = self.hosts.clone();
        }
        narrowed.fs = match (&self.fs, &request.fs) {
            (Some(caps), Some(asked)) => Some(narrow_fs(caps, asked)?),
            (Some(caps), None) if request.capabilities.contains(fs::NAME) => Some(caps.clone()),
            _ => None,
        };
        // A pinned setting is carried only to a request that grants its capability: the caps'
        // namespace must not grant `kv` to a request that did not ask for it.
        if request.grants(kv::NAME) {
            narrowed.kv_namespace = pinned(
                "kv namespace",
                self.kv_namespace.as_ref(),
                request.kv_namespace.as_ref(),
            )?;
        }
        if request.grants(random::NAME) {
            narrowed.seed = pinned("seed", self.seed.as_ref(), request.seed.as_ref())?;
        }
        narrowed.ai = match (self.ai, request.ai) {
            (_, None) if !request.capabilities.contains(ai::NAME) => None,
            (caps, asked) => {
                // Caps without a budget give the default one, and no more.
                let caps = caps.unwrap_or_default();
                let asked = asked.unwrap_or_default();
                let defaults = Limits::default();
                Some(AiBudget {
                    max_calls: at_most(
                        "AI calls",
                        caps.max_calls,
                        defaults.max_ai_calls,
                        asked.max_calls,
                    )?,
                    max_tokens: at_most(
                        "AI tokens",
                        caps.max_tokens,
                        defaults.max_ai_tokens,
                        asked.max_tokens,
                    )?,
                })
            }
        };
        Ok(narrowed)
    }
}

/// The request's value of a setting the caps may pin.
fn pinned<T: Clone + PartialEq + std::fmt::Debug>(
    what: &str,
    caps: Option<&T>,
    asked: Option<&T>,
) -> Result<Option<T>, Widening> {
    match (caps, asked) {
        (Some(caps), Some(asked)) if caps != asked => Err(Widening(format!(
            "the {what} is {caps:?}; the request asks for {asked:?}"
        ))),
        (Some(caps), _) => Ok(Some(caps.clone())),
        (None, asked) => Ok(asked.cloned()),
    }
}

/// A budget of at most the caps' (`default` where the caps set none).
fn at_most<T: PartialOrd + Copy + std::fmt::Display>(
    what: &str,
    caps: Option<T>,
    default: T,
    asked: Option<T>,
) -> Result<Option<T>, Widening> {
    let ceiling = caps.unwrap_or(default);
    match asked {
        Some(asked) if asked > ceiling => Err(Widening(format!(
            "{asked} {what} per run; at most {ceiling} are allowed"
        ))),
        asked => Ok(asked.or(caps)),
    }
}

/// The request's host rules, each covered by one of the caps'.
fn narrow_hosts(caps: &[String], asked: &[String]) -> Result<Vec<String>, Widening> {
    let parse = |rules: &[String]| -> Result<Vec<HostRule>, Widening> {
        rules
            .iter()
            .map(|rule| {
                rule.parse()
                    .map_err(|e: HostRuleError| Widening(e.to_string()))
            })
            .collect()
    };
    let allowed = parse(caps)?;
    for (text, rule) in asked.iter().zip(parse(asked)?) {
        if !allowed.iter().any(|cap| cap.covers(&rule)) {
            return Err(Widening(format!(
                "the host rule `{text}` is not covered by the hosts allowed ({})",
                if caps.is_empty() {
                    "none".to_owned()
                } else {
                    caps.join(", ")
                }
            )));
        }
    }
    Ok(asked.to_vec())
}

/// The request's jail, inside the caps'.
fn narrow_fs(caps: &FsSpec, asked: &FsSpec) -> Result<FsSpec, Widening> {
    if asked.write && !caps.write {
        return Err(Widening(
            "fs write access; the fs root allowed is read-only".to_owned(),
        ));
    }
    let outside = || {
        Widening(format!(
            "the fs root `{}` is not inside the root allowed, `{}`",
            asked.jail().display(),
            caps.jail().display()
        ))
    };
    let jail = caps.jail();
    let asked_jail = asked.jail();
    let relative = if asked_jail.is_absolute() {
        asked_jail
            .strip_prefix(&jail)
            .map_err(|_| outside())?
            .to_path_buf()
    } else {
        asked_jail
    };
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(outside());
    }
    let mut within = caps.within.clone();
    if relative
        .components()
        .any(|c| matches!(c, Component::Normal(_)))
    {
        within.push(relative);
    }
    Ok(FsSpec {
        root: caps.root.clone(),
        within,
        write: asked.write,
    })
}

/// The engine's grant of an fs spec, its root checked.
fn fs_grant(spec: &FsSpec) -> Result<FsGrant, PolicyError> {
    let jail = spec.jail();
    let fail = |reason: String| PolicyError::FsRoot {
        root: jail.clone(),
        reason,
    };
    if !spec.within.iter().all(|dir| {
        dir.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    }) {
        return Err(fail(
            "leads outside its root (`..` or an absolute path)".to_owned(),
        ));
    }
    let grant = if spec.write {
        FsGrant::read_write(&spec.root)
    } else {
        FsGrant::read_only(&spec.root)
    };
    let grant = spec
        .within
        .iter()
        .fold(grant, |grant, dir| grant.within(dir));
    // Opened here once, level by level as every run opens it, so that a jail that leads
    // outside the one above it is refused before any run.
    grant
        .open()
        .map_err(|message| fail(format!("cannot be used: {message}")))?;
    Ok(grant)
}

fn check_namespace(namespace: &str) -> Result<(), PolicyError> {
    let reason = if namespace.is_empty() {
        "is empty".to_owned()
    } else if namespace.len() > KV_MAX_NAMESPACE_NAME_BYTES {
        format!("is longer than {KV_MAX_NAMESPACE_NAME_BYTES} bytes")
    } else {
        return Ok(());
    };
    Err(PolicyError::KvNamespace {
        namespace: namespace.to_owned(),
        reason,
    })
}
