//! Key and trust stores in the formats Kafka and ZooKeeper read: JKS (Java's
//! historical default, and still `ssl.keystore.type`'s default in Kafka 3.9), PKCS12
//! (what keytool writes since Java 9) and PEM (KIP-651: a file or an inline value
//! holding a PKCS#8 key, encrypted or not, and certificates).
//!
//! Everything here works on bytes already read; errors are sentences naming what is
//! wrong, for the caller to attach to the key and file.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha1::{Digest, Sha1};

/// A store's format, as `ssl.keystore.type` / `ssl.truststore.type` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    Jks,
    Pkcs12,
    Pem,
}

impl StoreType {
    pub fn from_name(name: &str) -> Option<StoreType> {
        match name.trim().to_ascii_uppercase().as_str() {
            "JKS" => Some(StoreType::Jks),
            "PKCS12" => Some(StoreType::Pkcs12),
            "PEM" => Some(StoreType::Pem),
            _ => None,
        }
    }

    /// ZooKeeper's rule when no type is set: the file name's extension.
    pub fn from_file_name(name: &str) -> Option<StoreType> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".jks") {
            Some(StoreType::Jks)
        } else if lower.ends_with(".p12") || lower.ends_with(".pfx") {
            Some(StoreType::Pkcs12)
        } else if lower.ends_with(".pem") || lower.ends_with(".crt") {
            Some(StoreType::Pem)
        } else {
            None
        }
    }
}

/// A server's (or a client's) certificate chain and private key.
#[derive(Debug)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// The one private key entry of a key store with its chain. A store with several
/// keys is refused: Kafka would pick by its key manager's rules, which keel does not
/// reproduce.
pub fn load_identity(
    store_type: StoreType,
    bytes: &[u8],
    store_password: Option<&str>,
    key_password: Option<&str>,
) -> Result<Identity, String> {
    match store_type {
        StoreType::Jks => {
            let store = jks::parse(bytes, store_password)?;
            let key_password = key_password
                .or(store_password)
                .ok_or("a JKS key entry needs a password (ssl.key.password or the store's)")?;
            let mut keys = store.keys.into_iter();
            let entry = keys
                .next()
                .ok_or("the key store holds no private key entry")?;
            if keys.next().is_some() {
                return Err(
                    "the key store holds more than one private key entry; keel needs exactly one"
                        .into(),
                );
            }
            let key = jks::recover_key(&entry.protected_key, key_password)?;
            Ok(Identity {
                chain: entry.chain,
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            })
        }
        StoreType::Pkcs12 => {
            let password = store_password.unwrap_or("");
            let store = p12_keystore::KeyStore::from_pkcs12(bytes, password)
                .map_err(|error| format!("not a PKCS12 store this password opens: {error}"))?;
            let mut keys = store.entries().filter_map(|(_, entry)| match entry {
                p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => Some(chain),
                _ => None,
            });
            let chain = keys
                .next()
                .ok_or("the key store holds no private key entry")?;
            if keys.next().is_some() {
                return Err(
                    "the key store holds more than one private key entry; keel needs exactly one"
                        .into(),
                );
            }
            Ok(Identity {
                chain: chain
                    .chain()
                    .iter()
                    .map(|cert| CertificateDer::from(cert.as_der().to_vec()))
                    .collect(),
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().to_vec())),
            })
        }
        StoreType::Pem => {
            let text = std::str::from_utf8(bytes).map_err(|_| "a PEM store is not text")?;
            identity_from_pem(text, text, key_password)
        }
    }
}

/// A PEM identity: the key from `key_text`, the chain from `chain_text` (the same text
/// when both are in one file).
pub fn identity_from_pem(
    key_text: &str,
    chain_text: &str,
    key_password: Option<&str>,
) -> Result<Identity, String> {
    let chain = certificates_from_pem(chain_text)?;
    if chain.is_empty() {
        return Err("no CERTIFICATE in the PEM key store".into());
    }
    let blocks = pem_blocks(key_text)?;
    let mut keys = blocks
        .iter()
        .filter(|(label, _)| label.ends_with("PRIVATE KEY"));
    let (label, der) = keys.next().ok_or("no PRIVATE KEY in the PEM key store")?;
    if keys.next().is_some() {
        return Err("more than one private key in the PEM key store".into());
    }
    let key = match label.as_str() {
        "PRIVATE KEY" => {
            if key_password.is_some() {
                // Kafka's PEM reader decrypts whenever a key password is set.
                return Err("ssl.key.password is set but the PEM key is not encrypted (BEGIN PRIVATE KEY)".into());
            }
            der.clone()
        }
        "ENCRYPTED PRIVATE KEY" => {
            let password =
                key_password.ok_or("the PEM key is encrypted and ssl.key.password is not set")?;
            if let Some(key) = pkcs12_pbe::decrypt(der, password)? {
                return Ok(Identity {
                    chain,
                    key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
                });
            }
            let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
                .map_err(|error| format!("the encrypted PEM key does not parse: {error}"))?;
            let document = info.decrypt(password).map_err(|error| {
                format!("the encrypted PEM key does not open with ssl.key.password: {error}")
            })?;
            document.as_bytes().to_vec()
        }
        other => {
            return Err(format!(
                "{other} is not a PKCS#8 key; Kafka's PEM stores take BEGIN PRIVATE KEY or BEGIN ENCRYPTED PRIVATE KEY"
            ))
        }
    };
    Ok(Identity {
        chain,
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    })
}

/// The certificates a trust store trusts: trusted-certificate entries, and as Java's
/// trust managers do, the leaf of each key entry.
pub fn load_trusted(
    store_type: StoreType,
    bytes: &[u8],
    store_password: Option<&str>,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let trusted = match store_type {
        StoreType::Jks => {
            let store = jks::parse(bytes, store_password)?;
            let mut trusted = store.trusted;
            trusted.extend(
                store
                    .keys
                    .into_iter()
                    .filter_map(|entry| entry.chain.into_iter().next()),
            );
            trusted
        }
        StoreType::Pkcs12 => {
            let store = p12_keystore::KeyStore::from_pkcs12(bytes, store_password.unwrap_or(""))
                .map_err(|error| format!("not a PKCS12 store this password opens: {error}"))?;
            store
                .entries()
                .filter_map(|(_, entry)| match entry {
                    p12_keystore::KeyStoreEntry::Certificate(cert) => {
                        Some(CertificateDer::from(cert.as_der().to_vec()))
                    }
                    p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => chain
                        .chain()
                        .first()
                        .map(|cert| CertificateDer::from(cert.as_der().to_vec())),
                    _ => None,
                })
                .collect()
        }
        StoreType::Pem => {
            let text = std::str::from_utf8(bytes).map_err(|_| "a PEM store is not text")?;
            certificates_from_pem(text)?
        }
    };
    if trusted.is_empty() {
        return Err("the trust store holds no certificate".into());
    }
    Ok(trusted)
}

pub fn certificates_from_pem(text: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    Ok(pem_blocks(text)?
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| CertificateDer::from(der))
        .collect())
}

/// The `-----BEGIN L-----` ... `-----END L-----` blocks of a text, leniently: Kafka's
/// inline PEM values lose their line breaks to Java's properties continuation lines,
/// so the base64 between the markers may be one line, or broken anywhere.
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    use base64::Engine;
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let label_end = after
            .find("-----")
            .ok_or("a PEM BEGIN line without its closing dashes")?;
        let label = after[..label_end].trim().to_string();
        let body = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let body_end = body
            .find(&end_marker)
            .ok_or_else(|| format!("PEM block {label} has no END line"))?;
        let base64_text: String = body[..body_end]
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\\')
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(base64_text.as_bytes())
            .map_err(|error| format!("PEM block {label} is not base64: {error}"))?;
        blocks.push((label, der));
        rest = &body[body_end + end_marker.len()..];
    }
    Ok(blocks)
}

/// PKCS#12's password-based encryption of a PKCS#8 key with SHA-1 and 3DES
/// (`openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES`; Java's PBEWithSHA1AndDESede), which
/// the pkcs8 crate does not cover (it reads PBES2 and the DES-only PBES1 schemes).
mod pkcs12_pbe {
    use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
    use pkcs12::kdf::{derive_key_utf8, Pkcs12KeyType};

    use super::tlv;

    /// OID 1.2.840.113549.1.12.1.3, pbeWithSHAAnd3-KeyTripleDES-CBC, DER-encoded.
    const SHA1_3DES_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03];
    /// More rounds than any tool writes: a hostile file cannot make start-up spin.
    const ITERATIONS_MAX: u64 = 10_000_000;

    /// `Ok(None)` when the key uses another scheme.
    pub fn decrypt(der: &[u8], password: &str) -> Result<Option<Vec<u8>>, String> {
        let malformed = || "the encrypted PEM key is not an EncryptedPrivateKeyInfo".to_string();
        let Some((0x30, outer, _)) = tlv(der) else {
            return Err(malformed());
        };
        let Some((0x30, algorithm, rest)) = tlv(outer) else {
            return Err(malformed());
        };
        let Some((0x06, oid, parameters)) = tlv(algorithm) else {
            return Err(malformed());
        };
        if oid != SHA1_3DES_OID {
            return Ok(None);
        }
        let Some((0x30, parameters, _)) = tlv(parameters) else {
            return Err(malformed());
        };
        let Some((0x04, salt, parameters)) = tlv(parameters) else {
            return Err(malformed());
        };
        let Some((0x02, iterations, _)) = tlv(parameters) else {
            return Err(malformed());
        };
        if iterations.is_empty() || iterations.len() > 4 {
            return Err(malformed());
        }
        let iterations = iterations
            .iter()
            .fold(0u64, |n, byte| (n << 8) | *byte as u64);
        if iterations == 0 || iterations > ITERATIONS_MAX {
            return Err(format!(
                "the encrypted PEM key claims {iterations} iterations"
            ));
        }
        let Some((0x04, encrypted, _)) = tlv(rest) else {
            return Err(malformed());
        };
        let derive = |kind, length| {
            derive_key_utf8::<sha1::Sha1>(password, salt, kind, iterations as i32, length)
                .map_err(|error| format!("the key password cannot be used: {error}"))
        };
        let key = derive(Pkcs12KeyType::EncryptionKey, 24)?;
        let iv = derive(Pkcs12KeyType::Iv, 8)?;
        let cipher =
            cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv).map_err(|_| malformed())?;
        let plain = cipher
            .decrypt_padded_vec_mut::<Pkcs7>(encrypted)
            .map_err(|_| "the encrypted PEM key does not open with ssl.key.password".to_string())?;
        // A wrong password can pad correctly by chance; a PrivateKeyInfo starts
        // with a SEQUENCE whose length fits.
        match tlv(&plain) {
            Some((0x30, _, [])) => Ok(Some(plain)),
            _ => Err("the encrypted PEM key does not open with ssl.key.password".into()),
        }
    }
}

/// One DER tag-length-value: (tag, value, what follows).
pub(crate) fn tlv(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *bytes.first()?;
    let first = *bytes.get(1)?;
    let (length, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 {
            return None;
        }
        let mut length = 0usize;
        for index in 0..count {
            length = (length << 8) | *bytes.get(2 + index)? as usize;
        }
        (length, 2 + count)
    };
    let end = header.checked_add(length)?;
    Some((tag, bytes.get(header..end)?, &bytes[end..]))
}

/// The password's bytes as Sun's JKS code uses them: each UTF-16 unit, big-endian.
fn java_password_bytes(password: &str) -> Vec<u8> {
    password
        .encode_utf16()
        .flat_map(|unit| unit.to_be_bytes())
        .collect()
}

/// Java's JKS format (`sun.security.provider.JavaKeyStore`): entries after a magic
/// and version, then a SHA-1 over the password, a fixed phrase and every byte before
/// it; private keys under Sun's own SHA-1 keystream "key protector".
mod jks {
    use super::*;

    const MAGIC: u32 = 0xFEED_FEED;
    const JCEKS_MAGIC: u32 = 0xCECE_CECE;
    const PRIVATE_KEY_TAG: u32 = 1;
    const TRUSTED_CERT_TAG: u32 = 2;
    const DIGEST_BYTES: usize = 20;
    /// OID 1.3.6.1.4.1.42.2.17.1.1, Sun's key protector, DER-encoded.
    const KEY_PROTECTOR_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x11, 0x01, 0x01];

    pub struct KeyEntry {
        pub protected_key: Vec<u8>,
        pub chain: Vec<CertificateDer<'static>>,
    }

    pub struct Store {
        pub keys: Vec<KeyEntry>,
        pub trusted: Vec<CertificateDer<'static>>,
    }

    struct Reader<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl<'a> Reader<'a> {
        fn take(&mut self, count: usize) -> Result<&'a [u8], String> {
            let end = self
                .at
                .checked_add(count)
                .filter(|end| *end <= self.bytes.len())
                .ok_or_else(|| format!("the JKS store ends early (at byte {})", self.at))?;
            let slice = &self.bytes[self.at..end];
            self.at = end;
            Ok(slice)
        }
        fn u16(&mut self) -> Result<u16, String> {
            Ok(u16::from_be_bytes(
                self.take(2)?.try_into().expect("2 bytes"),
            ))
        }
        fn u32(&mut self) -> Result<u32, String> {
            Ok(u32::from_be_bytes(
                self.take(4)?.try_into().expect("4 bytes"),
            ))
        }
        fn utf(&mut self) -> Result<&'a [u8], String> {
            let length = self.u16()? as usize;
            self.take(length)
        }
        fn blob(&mut self) -> Result<&'a [u8], String> {
            let length = self.u32()? as usize;
            self.take(length)
        }
        fn certificate(&mut self, version: u32) -> Result<CertificateDer<'static>, String> {
            if version == 2 {
                let kind = self.utf()?;
                if kind != b"X.509" {
                    return Err(format!(
                        "a {} certificate in the JKS store; only X.509 is supported",
                        String::from_utf8_lossy(kind)
                    ));
                }
            }
            Ok(CertificateDer::from(self.blob()?.to_vec()))
        }
    }

    pub fn parse(bytes: &[u8], password: Option<&str>) -> Result<Store, String> {
        let mut reader = Reader { bytes, at: 0 };
        let magic = reader.u32()?;
        if magic == JCEKS_MAGIC {
            return Err("a JCEKS store: keel reads JKS, PKCS12 and PEM stores".into());
        }
        if magic != MAGIC {
            return Err("not a JKS store (wrong magic number)".into());
        }
        let version = reader.u32()?;
        if version != 1 && version != 2 {
            return Err(format!("JKS store version {version} is unknown"));
        }
        let count = reader.u32()?;
        let mut store = Store {
            keys: Vec::new(),
            trusted: Vec::new(),
        };
        for _ in 0..count {
            let tag = reader.u32()?;
            reader.utf()?; // alias
            reader.take(8)?; // creation time
            match tag {
                PRIVATE_KEY_TAG => {
                    let protected_key = reader.blob()?.to_vec();
                    let chain_length = reader.u32()?;
                    let mut chain = Vec::new();
                    for _ in 0..chain_length {
                        chain.push(reader.certificate(version)?);
                    }
                    store.keys.push(KeyEntry {
                        protected_key,
                        chain,
                    });
                }
                TRUSTED_CERT_TAG => store.trusted.push(reader.certificate(version)?),
                other => return Err(format!("JKS entry tag {other} is unknown")),
            }
        }
        let body_end = reader.at;
        let digest = reader.take(DIGEST_BYTES)?;
        if let Some(password) = password {
            let mut hasher = Sha1::new();
            hasher.update(java_password_bytes(password));
            hasher.update(b"Mighty Aphrodite");
            hasher.update(&bytes[..body_end]);
            if hasher.finalize().as_slice() != digest {
                return Err("Keystore was tampered with, or password was incorrect".into());
            }
        }
        Ok(store)
    }

    /// Undoes Sun's key protector: the encrypted key is salt (20 bytes), the key
    /// XORed with a keystream of chained SHA-1s of password and previous block, and a
    /// SHA-1 of password and key that proves the password right.
    pub fn recover_key(protected: &[u8], password: &str) -> Result<Vec<u8>, String> {
        let data = encrypted_key_data(protected)?;
        if data.len() < 2 * DIGEST_BYTES {
            return Err("a JKS key entry too short to hold a key".into());
        }
        let password = java_password_bytes(password);
        let (salt, rest) = data.split_at(DIGEST_BYTES);
        let (encrypted, check) = rest.split_at(rest.len() - DIGEST_BYTES);
        let mut key = Vec::with_capacity(encrypted.len());
        let mut block: Vec<u8> = salt.to_vec();
        for chunk in encrypted.chunks(DIGEST_BYTES) {
            let mut hasher = Sha1::new();
            hasher.update(&password);
            hasher.update(&block);
            block = hasher.finalize().to_vec();
            key.extend(chunk.iter().zip(&block).map(|(a, b)| a ^ b));
        }
        let mut hasher = Sha1::new();
        hasher.update(&password);
        hasher.update(&key);
        if hasher.finalize().as_slice() != check {
            return Err("Cannot recover key: the key password (ssl.key.password) is wrong".into());
        }
        Ok(key)
    }

    /// The OCTET STRING of an EncryptedPrivateKeyInfo whose algorithm is Sun's key
    /// protector.
    fn encrypted_key_data(der: &[u8]) -> Result<&[u8], String> {
        let malformed = || "a JKS key entry is not an EncryptedPrivateKeyInfo".to_string();
        let (tag, outer, _) = tlv(der).ok_or_else(malformed)?;
        if tag != 0x30 {
            return Err(malformed());
        }
        let (tag, algorithm, rest) = tlv(outer).ok_or_else(malformed)?;
        if tag != 0x30 {
            return Err(malformed());
        }
        let (tag, oid, _) = tlv(algorithm).ok_or_else(malformed)?;
        if tag != 0x06 || oid != KEY_PROTECTOR_OID {
            return Err(
                "a JKS key entry protected by an algorithm other than Sun's key protector".into(),
            );
        }
        let (tag, data, _) = tlv(rest).ok_or_else(malformed)?;
        if tag != 0x04 {
            return Err(malformed());
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_survive_lost_line_breaks() {
        let one_line = "-----BEGIN CERTIFICATE-----AAEC AwQ=-----END CERTIFICATE----- -----BEGIN CERTIFICATE-----\nBQY=\n-----END CERTIFICATE-----";
        let certs = certificates_from_pem(one_line).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0].as_ref(), &[0, 1, 2, 3, 4]);
        assert_eq!(certs[1].as_ref(), &[5, 6]);
        assert!(pem_blocks("-----BEGIN CERTIFICATE-----AAEC").is_err());
    }

    #[test]
    fn java_passwords_are_utf16_big_endian() {
        assert_eq!(java_password_bytes("ab"), vec![0, b'a', 0, b'b']);
    }

    #[test]
    fn truncated_or_foreign_jks_is_refused_not_panicking() {
        assert!(jks::parse(&[], None).is_err());
        assert!(jks::parse(&[0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 9], None).is_err());
        assert!(jks::parse(&[0xce, 0xce, 0xce, 0xce], None)
            .err()
            .unwrap()
            .contains("JCEKS"));
        // Arbitrary bytes after a valid header never panic.
        for length in 0..64 {
            let mut bytes = vec![0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1];
            bytes.extend((0..length).map(|i| (i * 37 % 251) as u8));
            let _ = jks::parse(&bytes, Some("x"));
        }
        assert!(jks::recover_key(&[0x30, 0x03, 0x30, 0x01], "x").is_err());
    }
}

#[cfg(test)]
mod fuzz {
    //! Hostile store files and certificates: every parser answers with an error,
    //! never a panic, whatever the bytes (mutations of real stores, truncations,
    //! random bytes), because a broken file must stop start-up with a sentence.
    use super::*;

    /// A small xorshift PRNG, seeded, so a failure reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, bound: usize) -> usize {
            (self.next() % bound.max(1) as u64) as usize
        }
    }

    fn testdata(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/src/tls/testdata/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
        let mut bytes = original.to_vec();
        match rng.below(4) {
            0 => bytes.truncate(rng.below(original.len())),
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
            }
            2 => {
                let at = rng.below(bytes.len());
                bytes[at] = 0xff;
                if at + 1 < bytes.len() {
                    bytes[at + 1] = 0xff;
                }
            }
            _ => bytes = (0..rng.below(512)).map(|_| rng.next() as u8).collect(),
        }
        bytes
    }

    #[test]
    fn mutated_stores_and_certificates_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let stores = [
            (StoreType::Jks, testdata("broker.jks"), "secret2", "secret3"),
            (StoreType::Jks, testdata("trust.jks"), "trustpw", "trustpw"),
            (
                StoreType::Pkcs12,
                testdata("broker.p12"),
                "secret4",
                "secret4",
            ),
            (StoreType::Pem, testdata("broker-keystore.pem"), "", "keypw"),
            (
                StoreType::Pem,
                testdata("broker-keystore-3des.pem"),
                "",
                "keypw3",
            ),
        ];
        let certificate =
            certificates_from_pem(std::str::from_utf8(&testdata("broker.pem")).unwrap())
                .unwrap()
                .remove(0);
        // Debug builds run PBKDF2 slowly: fewer rounds there.
        let rounds = if cfg!(debug_assertions) { 60 } else { 400 };
        for _ in 0..rounds {
            for (kind, bytes, store_password, key_password) in &stores {
                let mutated = mutate(&mut rng, bytes);
                let store_password = (!store_password.is_empty()).then_some(*store_password);
                let _ = load_identity(*kind, &mutated, store_password, Some(key_password));
                // Without the store password JKS skips its digest: the entries and
                // the key protector see the mutated bytes.
                let _ = load_identity(*kind, &mutated, None, Some(key_password));
                let _ = load_trusted(*kind, &mutated, store_password);
                let _ = load_trusted(*kind, &mutated, None);
            }
            let mutated = mutate(&mut rng, certificate.as_ref());
            let _ = crate::tls::x509::subject_rfc2253(&mutated);
            let _ = pkcs12_pbe::decrypt(&mutated, "x");
            let text: String = (0..rng.below(64))
                .map(|_| {
                    let alphabet = b"CN=,+\\\"#; .1aZ";
                    alphabet[rng.below(alphabet.len())] as char
                })
                .collect();
            let _ = crate::tls::x509::is_distinguished_name(&text);
        }
    }
}
