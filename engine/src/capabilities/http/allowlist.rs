//! The allowlist of a run's `http` grant: which hosts (and ports) it may reach, and whether a
//! URL may be fetched at all.

use std::net::IpAddr;

use reqwest::Url;

use super::NAME;
use super::address::special_address;
use crate::policy::GrantSettings;

/// One entry of an allowlist: a host name, `*.domain` (its subdomains), `*` (any host), or an IP
/// address, each with an optional port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    host: RuleHost,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RuleHost {
    Any,
    Name(String),
    Subdomains(String),
    Address(IpAddr),
}

/// A host rule that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid host rule `{rule}`: {reason}")]
pub struct HostRuleError {
    rule: String,
    reason: std::borrow::Cow<'static, str>,
}

impl std::str::FromStr for HostRule {
    type Err = HostRuleError;

    fn from_str(rule: &str) -> Result<Self, Self::Err> {
        let error = |reason: &'static str| HostRuleError {
            rule: rule.to_owned(),
            reason: reason.into(),
        };
        let trimmed = rule.trim();
        if trimmed.contains("://") || trimmed.contains('/') {
            return Err(error("give a host, optionally with a port, not a URL"));
        }
        let (host, port) = split_port(trimmed).ok_or_else(|| error("the port is not a number"))?;
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host == "localhost" || host.ends_with(".localhost") {
            // RFC 6761: `localhost` is always loopback, and a name that resolves to a special
            // address is refused at every request; only the address itself grants it.
            let port = port.map_or_else(|| "PORT".to_owned(), |port| port.to_string());
            return Err(HostRuleError {
                rule: rule.to_owned(),
                reason: format!(
                    "`{host}` always names a loopback address, and names that resolve to \
                     loopback are refused; to reach a server on this machine, allow its address \
                     (`127.0.0.1:{port}`, or `[::1]:{port}`) and request `http://127.0.0.1:{port}/`"
                )
                .into(),
            });
        }
        let host = if host == "*" {
            RuleHost::Any
        } else if let Some(domain) = host.strip_prefix("*.") {
            if !valid_name(domain) {
                return Err(error("not a host name"));
            }
            RuleHost::Subdomains(domain.to_owned())
        } else if let Ok(address) = host.trim_start_matches('[').trim_end_matches(']').parse() {
            RuleHost::Address(address)
        } else if valid_name(&host) {
            RuleHost::Name(host)
        } else {
            return Err(error("not a host name or an IP address"));
        };
        Ok(Self { host, port })
    }
}

/// `host:port`, `[v6]:port`, a bare host or a bare v6 address.
fn split_port(rule: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = rule.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((address, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((address, None)),
            None => None,
        };
    }
    match rule.rsplit_once(':') {
        // More than one colon and no brackets: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Some((rule, None)),
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((rule, None)),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl HostRule {
    fn matches(&self, host: &url::Host<&str>, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match (&self.host, host) {
            (RuleHost::Any, _) => true,
            (RuleHost::Name(name), url::Host::Domain(domain)) => {
                domain.trim_end_matches('.').eq_ignore_ascii_case(name)
            }
            (RuleHost::Subdomains(parent), url::Host::Domain(domain)) => {
                let domain = domain.trim_end_matches('.').to_ascii_lowercase();
                domain
                    .strip_suffix(parent.as_str())
                    .is_some_and(|prefix| prefix.ends_with('.'))
            }
            (RuleHost::Address(rule), url::Host::Ipv4(ip)) => *rule == IpAddr::V4(*ip),
            (RuleHost::Address(rule), url::Host::Ipv6(ip)) => *rule == IpAddr::V6(*ip),
            _ => false,
        }
    }

    /// Whether every host and port this rule lets through, `self` lets through too: a rule of
    /// a server's caps covering one of a request's. `*` covers every name but no address (only
    /// a rule naming an address lets a run reach a special one); `*.domain` covers the names
    /// and `*.` rules under the domain; a rule without a port covers every port.
    pub fn covers(&self, other: &HostRule) -> bool {
        let port = match (self.port, other.port) {
            (None, _) => true,
            (Some(mine), Some(theirs)) => mine == theirs,
            (Some(_), None) => false,
        };
        port && match (&self.host, &other.host) {
            (RuleHost::Address(mine), RuleHost::Address(theirs)) => mine == theirs,
            (_, RuleHost::Address(_)) => false,
            (RuleHost::Any, _) => true,
            (RuleHost::Name(mine), RuleHost::Name(theirs)) => mine == theirs,
            (RuleHost::Subdomains(parent), RuleHost::Name(name) | RuleHost::Subdomains(name)) => {
                name == parent && matches!(other.host, RuleHost::Subdomains(_))
                    || name
                        .strip_suffix(parent.as_str())
                        .is_some_and(|prefix| prefix.ends_with('.'))
            }
            _ => false,
        }
    }

    /// Whether the rule names this very address (which then may be special).
    fn names_address(&self, address: IpAddr, port: u16) -> bool {
        self.host == RuleHost::Address(address) && self.port.is_none_or(|p| p == port)
    }
}

impl GrantSettings for HttpGrant {
    const CAPABILITY: &'static str = NAME;
}

/// The settings of a run's `http` grant: the hosts it may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpGrant {
    pub(super) rules: Vec<HostRule>,
}

impl HttpGrant {
    /// An allowlist from rules such as `api.example.com`, `*.example.com`, `example.com:8443`,
    /// `127.0.0.1:8080` or `*`.
    pub fn new<S: AsRef<str>>(rules: impl IntoIterator<Item = S>) -> Result<Self, HostRuleError> {
        let rules = rules
            .into_iter()
            .map(|rule| rule.as_ref().parse())
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// The rules.
    pub fn rules(&self) -> &[HostRule] {
        &self.rules
    }

    /// Why the url may not be fetched, if it may not.
    pub(super) fn refusal(&self, url: &Url) -> Option<String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Some(format!(
                "the scheme `{}` is not allowed (only http and https)",
                url.scheme()
            ));
        }
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return Some("the url has no host".to_owned());
        };
        let rules: Vec<&HostRule> = self
            .rules
            .iter()
            .filter(|r| r.matches(&host, port))
            .collect();
        if rules.is_empty() {
            // The port is named when the url names one: a grant of the host alone allows it
            // too, but a person reading `127.0.0.1` should see which server was asked.
            let named = match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            };
            return Some(format!(
                "the host `{named}` is not in the run's allowlist of hosts (an `http` grant of `{named}` allows it)"
            ));
        }
        let address = match host {
            url::Host::Ipv4(ip) => IpAddr::V4(ip),
            url::Host::Ipv6(ip) => IpAddr::V6(ip),
            url::Host::Domain(_) => return None,
        };
        let kind = special_address(address)?;
        if rules.iter().any(|r| r.names_address(address, port)) {
            return None;
        }
        let rule = match address {
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
            IpAddr::V4(v4) => format!("{v4}:{port}"),
        };
        Some(format!(
            "{address} is {} {kind} address; only an allowlist entry naming it allows it (`{rule}`)",
            super::address::article(kind)
        ))
    }
}
