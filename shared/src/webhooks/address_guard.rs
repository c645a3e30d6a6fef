//! The SSRF guard of webhook targets: URL rules (http(s), default or allowed port, no
//! credentials, no internal host names) and the classifier of IP addresses (loopback, private,
//! link-local, CGNAT, multicast, broadcast, metadata, benchmarking, documentation, discard, IPv6
//! equivalents, Teredo and local-use NAT64; IPv4-mapped, SIIT, IPv4-compatible, NAT64 and 6to4
//! forms are classified by their embedded IPv4 address).
//! Callers resolve the host themselves, check every address here, then connect to a checked
//! address only (pinning it), so DNS rebinding cannot swap it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Longest accepted webhook URL.
pub const MAX_URL_CHARS: usize = 2048;

/// Why an address is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonPublicReason {
    Unspecified,
    Loopback,
    Private,
    LinkLocal,
    CarrierGradeNat,
    Multicast,
    Broadcast,
    Reserved,
    CloudMetadata,
    UniqueLocal,
    Documentation,
    Benchmarking,
    Discard,
    Tunnel,
}

impl NonPublicReason {
    fn describe(self) -> &'static str {
        match self {
            NonPublicReason::Unspecified => "an unspecified address",
            NonPublicReason::Loopback => "a loopback address",
            NonPublicReason::Private => "a private-network address",
            NonPublicReason::LinkLocal => "a link-local address",
            NonPublicReason::CarrierGradeNat => "a carrier-grade NAT address",
            NonPublicReason::Multicast => "a multicast address",
            NonPublicReason::Broadcast => "the broadcast address",
            NonPublicReason::Reserved => "a reserved address",
            NonPublicReason::CloudMetadata => "a cloud metadata address",
            NonPublicReason::UniqueLocal => "an IPv6 unique-local address",
            NonPublicReason::Documentation => "a documentation address",
            NonPublicReason::Benchmarking => "a benchmarking address",
            NonPublicReason::Discard => "an IPv6 discard-only address",
            NonPublicReason::Tunnel => "a Teredo or local-use NAT64 address",
        }
    }
}

/// Why a webhook URL or address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("not a valid absolute URL")]
    InvalidUrl,
    #[error("longer than {MAX_URL_CHARS} characters")]
    TooLong,
    #[error("scheme `{0}` is not allowed (use http or https)")]
    UnsupportedScheme(String),
    #[error("credentials in the URL are not allowed")]
    Credentials,
    #[error("port {0} is not allowed (80, 443 and WEBHOOK_ALLOWED_PORTS only)")]
    PortNotAllowed(u16),
    #[error("host `{host}` is {reason} and private networks are not allowed")]
    HostNotAllowed { host: String, reason: &'static str },
    #[error("`{address}` is {} and private networks are not allowed", reason.describe())]
    AddressNotAllowed {
        address: IpAddr,
        reason: NonPublicReason,
    },
    #[error("host `{0}` has no address")]
    NoAddress(String),
}

/// A URL that passed the URL rules; its host still has to be resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub url: Url,
    /// The host as written in the URL (no brackets for IPv6).
    pub host: String,
    pub port: u16,
    /// The address, when the host is an IP literal (after WHATWG normalisation, so
    /// `http://2130706433/` and `http://0x7f.1/` are 127.0.0.1).
    pub ip_literal: Option<IpAddr>,
}

/// What the guard allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// WEBHOOK_ALLOW_PRIVATE_NETWORKS: allow non-public addresses and internal host names.
    pub allow_private_networks: bool,
    /// WEBHOOK_ALLOWED_PORTS: ports allowed besides 80 and 443.
    pub allowed_ports: Vec<u16>,
}

impl AddressPolicy {
    /// Checks the URL rules (and the address, when the host is an IP literal).
    pub fn check_url(&self, raw: &str) -> Result<WebhookTarget, AddressError> {
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(AddressError::TooLong);
        }
        let url = Url::parse(raw).map_err(|_| AddressError::InvalidUrl)?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(AddressError::UnsupportedScheme(url.scheme().to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(AddressError::Credentials);
        }
        let port = url
            .port_or_known_default()
            .ok_or(AddressError::InvalidUrl)?;
        if port != 80 && port != 443 && !self.allowed_ports.contains(&port) {
            return Err(AddressError::PortNotAllowed(port));
        }
        let (host, ip_literal) = match url.host() {
            None => return Err(AddressError::InvalidUrl),
            Some(Host::Ipv4(address)) => (address.to_string(), Some(IpAddr::V4(address))),
            Some(Host::Ipv6(address)) => (address.to_string(), Some(IpAddr::V6(address))),
            Some(Host::Domain(domain)) => (domain.to_owned(), None),
        };
        match ip_literal {
            Some(address) => self.check_address(address)?,
            None => self.check_host_name(&host)?,
        }
        Ok(WebhookTarget {
            url,
            host,
            port,
            ip_literal,
        })
    }

    fn check_host_name(&self, host: &str) -> Result<(), AddressError> {
        if self.allow_private_networks {
            return Ok(());
        }
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        let reason = if name == "localhost" || name.ends_with(".localhost") {
            "a loopback name"
        } else if name.ends_with(".local") || name.ends_with(".internal") {
            "an internal name"
        } else if !name.contains('.') {
            "a single-label name"
        } else {
            return Ok(());
        };
        Err(AddressError::HostNotAllowed {
            host: host.to_owned(),
            reason,
        })
    }

    /// Checks one address (every resolved address of a host must pass).
    pub fn check_address(&self, address: IpAddr) -> Result<(), AddressError> {
        match classify_ip(address) {
            Some(reason) if !self.allow_private_networks => {
                Err(AddressError::AddressNotAllowed { address, reason })
            }
            _ => Ok(()),
        }
    }

    /// Checks every resolved address of `host`; an empty list is refused.
    pub fn check_resolved(&self, host: &str, addresses: &[IpAddr]) -> Result<(), AddressError> {
        if addresses.is_empty() {
            return Err(AddressError::NoAddress(host.to_owned()));
        }
        addresses
            .iter()
            .try_for_each(|address| self.check_address(*address))
    }
}

/// `None` for a public address, else why it is not public.
pub fn classify_ip(address: IpAddr) -> Option<NonPublicReason> {
    match address {
        IpAddr::V4(v4) => classify_ipv4(v4),
        IpAddr::V6(v6) => classify_ipv6(v6),
    }
}

fn classify_ipv4(address: Ipv4Addr) -> Option<NonPublicReason> {
    let [a, b, c, d] = address.octets();
    let reason = match (a, b, c, d) {
        (169, 254, 169, 254) | (100, 100, 100, 200) => NonPublicReason::CloudMetadata,
        (255, 255, 255, 255) => NonPublicReason::Broadcast,
        (0, ..) => NonPublicReason::Unspecified,
        (127, ..) => NonPublicReason::Loopback,
        (10, ..) | (192, 168, ..) => NonPublicReason::Private,
        (172, 16..=31, ..) => NonPublicReason::Private,
        (169, 254, ..) => NonPublicReason::LinkLocal,
        (100, 64..=127, ..) => NonPublicReason::CarrierGradeNat,
        (224..=239, ..) => NonPublicReason::Multicast,
        (198, 18..=19, ..) => NonPublicReason::Benchmarking,
        (192, 0, 2, _) | (198, 51, 100, _) | (203, 0, 113, _) => NonPublicReason::Documentation,
        (240..=255, ..) | (192, 0, 0, _) => NonPublicReason::Reserved,
        _ => return None,
    };
    Some(reason)
}

fn classify_ipv6(address: Ipv6Addr) -> Option<NonPublicReason> {
    // Before the embedded forms: `::` and `::1` are also IPv4-compatible in shape.
    if address.is_unspecified() {
        return Some(NonPublicReason::Unspecified);
    }
    if address.is_loopback() {
        return Some(NonPublicReason::Loopback);
    }
    if let Some(v4) = embedded_ipv4(address) {
        return classify_ipv4(v4);
    }
    let segments = address.segments();
    let reason = if segments[0] == 0xfd00 && segments[1] == 0x0ec2 {
        NonPublicReason::CloudMetadata
    } else if segments[0] & 0xfe00 == 0xfc00 {
        NonPublicReason::UniqueLocal
    } else if segments[0] & 0xffc0 == 0xfe80 || segments[0] & 0xffc0 == 0xfec0 {
        NonPublicReason::LinkLocal
    } else if segments[0] & 0xff00 == 0xff00 {
        NonPublicReason::Multicast
    } else if (segments[0] == 0x2001 && segments[1] == 0x0db8)
        || (segments[0] == 0x3fff && segments[1] & 0xf000 == 0)
    {
        // 2001:db8::/32 and 3fff::/20.
        NonPublicReason::Documentation
    } else if segments[..4] == [0x0100, 0, 0, 0] {
        // 100::/64.
        NonPublicReason::Discard
    } else if segments[0] == 0x2001 && segments[1] == 0 {
        // Teredo (2001::/32): a tunnel to an IPv4 host; refused, by the client's (obfuscated)
        // IPv4 address when that one is not public.
        let [a, b] = (!segments[6]).to_be_bytes();
        let [c, d] = (!segments[7]).to_be_bytes();
        classify_ipv4(Ipv4Addr::new(a, b, c, d)).unwrap_or(NonPublicReason::Tunnel)
    } else if segments[..3] == [0x64, 0xff9b, 0x1] {
        // Local-use NAT64 (64:ff9b:1::/48): translated by a local network, to anything.
        NonPublicReason::Tunnel
    } else {
        return None;
    };
    Some(reason)
}

/// The IPv4 address inside IPv4-mapped (`::ffff:a.b.c.d`), SIIT (`::ffff:0:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses.
fn embedded_ipv4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = address.segments();
    let last_two = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match segments {
        [0, 0, 0, 0, 0, 0xffff, high, low]
        | [0, 0, 0, 0, 0xffff, 0, high, low]
        | [0, 0, 0, 0, 0, 0, high, low]
        | [0x64, 0xff9b, 0, 0, 0, 0, high, low]
        | [0x2002, high, low, ..] => Some(last_two(high, low)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> AddressPolicy {
        AddressPolicy::default()
    }

    #[test]
    fn the_classifier_refuses_every_non_public_range() {
        for (text, expected) in [
            ("127.0.0.1", Some(NonPublicReason::Loopback)),
            ("127.255.0.9", Some(NonPublicReason::Loopback)),
            ("10.1.2.3", Some(NonPublicReason::Private)),
            ("172.16.0.1", Some(NonPublicReason::Private)),
            ("172.31.255.255", Some(NonPublicReason::Private)),
            ("172.32.0.1", None),
            ("192.168.1.1", Some(NonPublicReason::Private)),
            ("169.254.169.254", Some(NonPublicReason::CloudMetadata)),
            ("169.254.1.1", Some(NonPublicReason::LinkLocal)),
            ("100.64.0.1", Some(NonPublicReason::CarrierGradeNat)),
            ("100.127.255.255", Some(NonPublicReason::CarrierGradeNat)),
            ("100.128.0.1", None),
            ("0.0.0.0", Some(NonPublicReason::Unspecified)),
            ("224.0.0.1", Some(NonPublicReason::Multicast)),
            ("239.255.255.250", Some(NonPublicReason::Multicast)),
            ("255.255.255.255", Some(NonPublicReason::Broadcast)),
            ("8.8.8.8", None),
            ("93.184.216.34", None),
            ("::1", Some(NonPublicReason::Loopback)),
            ("::", Some(NonPublicReason::Unspecified)),
            ("fc00::1", Some(NonPublicReason::UniqueLocal)),
            ("fdff::1", Some(NonPublicReason::UniqueLocal)),
            ("fd00:ec2::254", Some(NonPublicReason::CloudMetadata)),
            ("fe80::1", Some(NonPublicReason::LinkLocal)),
            ("ff02::1", Some(NonPublicReason::Multicast)),
            ("::ffff:127.0.0.1", Some(NonPublicReason::Loopback)),
            ("::ffff:10.0.0.1", Some(NonPublicReason::Private)),
            (
                "::ffff:169.254.169.254",
                Some(NonPublicReason::CloudMetadata),
            ),
            ("64:ff9b::a00:1", Some(NonPublicReason::Private)),
            ("2002:7f00:1::", Some(NonPublicReason::Loopback)),
            ("2606:4700::1111", None),
        ] {
            let address: IpAddr = text.parse().unwrap();
            assert_eq!(classify_ip(address), expected, "{text}");
        }
    }

    #[test]
    fn special_purpose_and_embedded_ipv4_forms_are_refused() {
        for (text, expected) in [
            // SIIT (`::ffff:0:a.b.c.d`): the embedded address decides.
            ("::ffff:0:127.0.0.1", Some(NonPublicReason::Loopback)),
            ("::ffff:0:10.1.2.3", Some(NonPublicReason::Private)),
            (
                "::ffff:0:169.254.169.254",
                Some(NonPublicReason::CloudMetadata),
            ),
            // IPv4-compatible (`::a.b.c.d`), including the all-zero-high-half ones.
            ("::127.0.0.1", Some(NonPublicReason::Loopback)),
            ("::192.168.0.1", Some(NonPublicReason::Private)),
            ("::0.0.0.2", Some(NonPublicReason::Unspecified)),
            // Local-use NAT64, Teredo: refused whatever they carry.
            ("64:ff9b:1::808:808", Some(NonPublicReason::Tunnel)),
            ("64:ff9b:1:ffff::1", Some(NonPublicReason::Tunnel)),
            (
                "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
                Some(NonPublicReason::Tunnel),
            ),
            (
                "2001:0:4136:e378:8000:63bf:80ff:fffe",
                Some(NonPublicReason::Loopback),
            ),
            // Benchmarking and documentation.
            ("198.18.0.1", Some(NonPublicReason::Benchmarking)),
            ("198.19.255.255", Some(NonPublicReason::Benchmarking)),
            ("198.20.0.1", None),
            ("192.0.2.10", Some(NonPublicReason::Documentation)),
            ("198.51.100.7", Some(NonPublicReason::Documentation)),
            ("203.0.113.200", Some(NonPublicReason::Documentation)),
            ("203.0.114.1", None),
            ("::ffff:203.0.113.5", Some(NonPublicReason::Documentation)),
            ("2001:db8::1", Some(NonPublicReason::Documentation)),
            ("2001:db8:ffff::1", Some(NonPublicReason::Documentation)),
            ("3fff::1", Some(NonPublicReason::Documentation)),
            ("3fff:fff:ffff::1", Some(NonPublicReason::Documentation)),
            ("3fff:1000::1", None),
            // Discard-only.
            ("100::1", Some(NonPublicReason::Discard)),
            ("100::ffff:ffff:ffff:ffff", Some(NonPublicReason::Discard)),
            ("100:0:0:1::1", None),
            // Public neighbours stay public.
            ("2001:4860:4860::8888", None),
            ("64:ff9b::808:808", None),
        ] {
            let address: IpAddr = text.parse().unwrap();
            assert_eq!(classify_ip(address), expected, "{text}");
            if expected.is_some() {
                assert!(strict().check_address(address).is_err(), "{text}");
            }
        }
    }

    #[test]
    fn numeric_ipv4_host_forms_are_normalised_and_refused() {
        for url in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::1]/hook",
            "https://169.254.169.254/latest/meta-data",
        ] {
            assert!(
                matches!(
                    strict().check_url(url),
                    Err(AddressError::AddressNotAllowed { .. })
                ),
                "{url}"
            );
        }
    }

    #[test]
    fn internal_host_names_are_refused_unless_allowed() {
        for url in [
            "http://localhost/",
            "http://api.localhost/",
            "http://printer.local/",
            "http://metadata.google.internal/",
            "http://intranet/",
        ] {
            assert!(
                matches!(
                    strict().check_url(url),
                    Err(AddressError::HostNotAllowed { .. })
                ),
                "{url}"
            );
        }
        let open = AddressPolicy {
            allow_private_networks: true,
            allowed_ports: vec![],
        };
        open.check_url("http://localhost/").unwrap();
        open.check_url("http://127.0.0.1/").unwrap();
    }

    #[test]
    fn scheme_port_and_credentials_rules() {
        let target = strict()
            .check_url("https://hooks.example.com/x?y=1")
            .unwrap();
        assert_eq!(
            (target.host.as_str(), target.port),
            ("hooks.example.com", 443)
        );
        strict().check_url("http://hooks.example.com:80/").unwrap();
        assert_eq!(
            strict().check_url("http://hooks.example.com:8080/"),
            Err(AddressError::PortNotAllowed(8080))
        );
        let with_port = AddressPolicy {
            allow_private_networks: false,
            allowed_ports: vec![8080],
        };
        with_port
            .check_url("http://hooks.example.com:8080/")
            .unwrap();
        assert_eq!(
            strict().check_url("https://user:pw@hooks.example.com/"),
            Err(AddressError::Credentials)
        );
        assert_eq!(
            strict().check_url("https://user@hooks.example.com/"),
            Err(AddressError::Credentials)
        );
        assert!(matches!(
            strict().check_url("ftp://hooks.example.com/"),
            Err(AddressError::UnsupportedScheme(_))
        ));
        assert_eq!(
            strict().check_url("not a url"),
            Err(AddressError::InvalidUrl)
        );
    }

    #[test]
    fn every_resolved_address_must_pass() {
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let private: IpAddr = "10.0.0.1".parse().unwrap();
        strict().check_resolved("h.example", &[public]).unwrap();
        assert!(
            strict()
                .check_resolved("h.example", &[public, private])
                .is_err()
        );
        assert_eq!(
            strict().check_resolved("h.example", &[]),
            Err(AddressError::NoAddress("h.example".to_owned()))
        );
    }
}
