//! The subject of a client certificate as Java names it: `X500Principal.getName()`
//! (RFC 2253), the id ZooKeeper's X509AuthenticationProvider gives a TLS client.
//! Most specific part first (`CN=zk-client,OU=ops,O=Example,C=NL`), RFC 2253's
//! keywords for the usual attributes, other attributes as a dotted OID with the
//! value's DER in hex.

use super::keystore::tlv;

/// `None` when the certificate does not parse far enough to reach its subject.
pub fn subject_rfc2253(certificate: &[u8]) -> Option<String> {
    let (0x30, certificate, _) = tlv(certificate)? else {
        return None;
    };
    let (0x30, mut tbs, _) = tlv(certificate)? else {
        return None;
    };
    // [0] version (optional), serial, signature algorithm, issuer, validity, subject.
    if tbs.first() == Some(&0xa0) {
        tbs = tlv(tbs)?.2;
    }
    for _ in 0..4 {
        tbs = tlv(tbs)?.2;
    }
    let (0x30, mut name, _) = tlv(tbs)? else {
        return None;
    };
    let mut rdns = Vec::new();
    while !name.is_empty() {
        let (0x31, mut set, rest) = tlv(name)? else {
            return None;
        };
        name = rest;
        let mut values = Vec::new();
        while !set.is_empty() {
            let (0x30, attribute, rest) = tlv(set)? else {
                return None;
            };
            set = rest;
            let (0x06, oid, value_tlv) = tlv(attribute)? else {
                return None;
            };
            let oid = dotted(oid)?;
            let (tag, value, _) = tlv(value_tlv)?;
            let rendered = match (keyword(&oid), text(tag, value)) {
                (Some(keyword), Some(text)) => format!("{keyword}={}", escape(&text)),
                _ => format!("{oid}=#{}", hex(value_tlv)),
            };
            values.push(rendered);
        }
        rdns.push(values.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// The directory string types a subject uses.
fn text(tag: u8, value: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, NumericString
        0x0c | 0x13 | 0x16 | 0x12 => String::from_utf8(value.to_vec()).ok(),
        // TeletexString, read as Latin-1 as Java does in practice
        0x14 => Some(value.iter().map(|byte| *byte as char).collect()),
        // BMPString
        0x1e if value.len().is_multiple_of(2) => String::from_utf16(
            &value
                .chunks(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect::<Vec<_>>(),
        )
        .ok(),
        _ => None,
    }
}

/// RFC 2253 section 2.4 escapes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    let last = text.chars().count().saturating_sub(1);
    for (index, c) in text.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (index == 0 && (c == '#' || c == ' '))
            || (index == last && c == ' ');
        if special {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn dotted(oid: &[u8]) -> Option<String> {
    let (first, rest) = oid.split_first()?;
    let mut parts = vec![
        (first / 40).min(2) as u64,
        (*first as u64) - 40 * (first / 40).min(2) as u64,
    ];
    let mut value: u64 = 0;
    for byte in rest {
        value = value.checked_mul(128)? | (byte & 0x7f) as u64;
        if byte & 0x80 == 0 {
            parts.push(value);
            value = 0;
        }
    }
    Some(
        parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether `id` reads as a distinguished name (`X500Principal`'s constructor does
/// not throw): comma-separated `type=value` parts, a type being a keyword or a
/// dotted OID. The x509 ACL scheme refuses anything else as InvalidACL.
pub fn is_distinguished_name(id: &str) -> bool {
    if id.trim().is_empty() {
        return false;
    }
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = id.chars();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                match chars.next() {
                    Some(next) => current.push(next),
                    None => return false,
                }
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' | ';' | '+' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if quoted {
        return false;
    }
    parts.push(current);
    parts.iter().all(|part| match part.split_once('=') {
        Some((kind, _)) => {
            let kind = kind.trim();
            let keyword = !kind.is_empty()
                && kind.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            let oid = !kind.is_empty()
                && kind.split('.').count() > 1
                && kind
                    .trim_start_matches("OID.")
                    .split('.')
                    .all(|arc| !arc.is_empty() && arc.chars().all(|c| c.is_ascii_digit()));
            keyword || oid
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_read_most_specific_first() {
        let pem = std::fs::read_to_string(format!(
            "{}/src/tls/testdata/broker.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let der = super::super::keystore::certificates_from_pem(&pem)
            .unwrap()
            .remove(0);
        assert_eq!(
            subject_rfc2253(der.as_ref()).as_deref(),
            Some("CN=localhost")
        );
        assert_eq!(subject_rfc2253(&[0x30, 0x02, 0x30, 0x00]), None);
        assert_eq!(
            dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]).unwrap(),
            "1.2.840.113549.1.9.1"
        );
        assert_eq!(escape("a,b+c "), "a\\,b\\+c\\ ");
    }

    #[test]
    fn distinguished_names_as_x500_principal_accepts_them() {
        assert!(is_distinguished_name(
            "CN=zk-client,OU=zk-tls,O=keel compat,L=Amsterdam,C=NL"
        ));
        assert!(is_distinguished_name("CN=a\\,b"));
        assert!(is_distinguished_name("1.2.840.113549.1.9.1=#160161"));
        assert!(!is_distinguished_name("zk-client"));
        assert!(!is_distinguished_name(""));
        assert!(!is_distinguished_name("CN=x,"));
    }
}
