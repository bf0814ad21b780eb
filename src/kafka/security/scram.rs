//! SASL/SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802 / 7677) as Kafka speaks them:
//! the credential Kafka keeps in ZooKeeper (`salt=..,stored_key=..,server_key=..,
//! iterations=N`), the server's two steps and the client's two steps.
//!
//! Pure: no sockets and no ZooKeeper; the caller looks the credential up between the
//! client's first message and the server's answer. Messages are parsed with Kafka's
//! rules (`ScramMessages`): only gs2 header `n`, extensions accepted and ignored,
//! channel binding not checked, at least 4096 iterations.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// Kafka's `ScramMechanism.minIterations` (both mechanisms).
pub const ITERATIONS_MIN: i32 = 4096;
/// Kafka's `ScramMechanism.maxIterations` (AlterUserScramCredentials' bound).
pub const ITERATIONS_MAX: i32 = 16384;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    pub const ALL: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];

    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<ScramMechanism> {
        ScramMechanism::ALL
            .into_iter()
            .find(|mechanism| mechanism.name() == name)
    }

    /// The wire type of DescribeUserScramCredentials / AlterUserScramCredentials.
    pub fn wire_type(self) -> i8 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
        }
    }

    pub fn from_wire_type(value: i8) -> Option<ScramMechanism> {
        ScramMechanism::ALL
            .into_iter()
            .find(|mechanism| mechanism.wire_type() == value)
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramMechanism::Sha512 => {
                let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
            ScramMechanism::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// SCRAM's Hi: PBKDF2 with this mechanism's HMAC.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => {
                let mut out = vec![0; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
            ScramMechanism::Sha512 => {
                let mut out = vec![0; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out
            }
        }
    }
}

/// What the server keeps of a password (Kafka's `ScramCredential`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: i32,
}

impl ScramCredential {
    /// Derives the credential of `password` (`ScramFormatter.generateCredential`).
    pub fn derive(
        mechanism: ScramMechanism,
        password: &[u8],
        salt: &[u8],
        iterations: i32,
    ) -> ScramCredential {
        let salted = mechanism.salted_password(password, salt, iterations.max(1) as u32);
        ScramCredential::from_salted_password(mechanism, salt.to_vec(), &salted, iterations)
    }

    /// The credential of an already salted password (AlterUserScramCredentials sends
    /// the salt and the salted password, never the password).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salt: Vec<u8>,
        salted_password: &[u8],
        iterations: i32,
    ) -> ScramCredential {
        let client_key = mechanism.hmac(salted_password, b"Client Key");
        ScramCredential {
            salt,
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.hmac(salted_password, b"Server Key"),
            iterations,
        }
    }

    /// Kafka's `ScramCredentialUtils.credentialToString`.
    pub fn to_zk_string(&self) -> String {
        format!(
            "salt={},stored_key={},server_key={},iterations={}",
            BASE64.encode(&self.salt),
            BASE64.encode(&self.stored_key),
            BASE64.encode(&self.server_key),
            self.iterations
        )
    }

    /// Kafka's `ScramCredentialUtils.credentialFromString`: exactly the four keys.
    pub fn from_zk_string(text: &str) -> Result<ScramCredential, String> {
        let (mut salt, mut stored_key, mut server_key, mut iterations) = (None, None, None, None);
        let mut count = 0;
        for item in text.split(',') {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| format!("Credentials not valid: {text}"))?;
            count += 1;
            let decode = |value: &str| {
                BASE64
                    .decode(value)
                    .map_err(|_| format!("Credentials not valid: {text}"))
            };
            match key {
                "salt" => salt = Some(decode(value)?),
                "stored_key" => stored_key = Some(decode(value)?),
                "server_key" => server_key = Some(decode(value)?),
                "iterations" => {
                    iterations = Some(
                        value
                            .parse::<i32>()
                            .map_err(|_| format!("Credentials not valid: {text}"))?,
                    )
                }
                _ => {}
            }
        }
        match (salt, stored_key, server_key, iterations) {
            (Some(salt), Some(stored_key), Some(server_key), Some(iterations)) if count == 4 => {
                Ok(ScramCredential {
                    salt,
                    stored_key,
                    server_key,
                    iterations,
                })
            }
            _ => Err(format!("Credentials not valid: {text}")),
        }
    }
}

/// Why a SCRAM exchange failed. `Invalid` is Kafka's SaslException (the client is
/// told only "invalid credentials"); `Refused` is a SaslAuthenticationException whose
/// message the client is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramError {
    Invalid(String),
    Refused(String),
}

/// The client's first message, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirst {
    pub username: String,
    pub authorization_id: String,
    pub nonce: String,
    /// `n=..,r=..[,ext]` as sent: part of the signed auth message.
    bare: String,
    /// The `tokenauth=true` extension (delegation tokens, which keel does not issue).
    pub token_auth: bool,
}

fn is_printable_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

fn is_value(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| (0x01..=0x7f).contains(&b) && b != b',')
}

/// Kafka's saslname rule: `=2C` and `=3D` are the only escapes; any other `=` is an
/// error (`ScramFormatter.username`).
fn username_of(sasl_name: &str) -> Option<String> {
    if sasl_name.is_empty() || sasl_name.bytes().any(|b| b == 0 || b >= 0x80 || b == b',') {
        return None;
    }
    let unescaped = sasl_name.replace("=2C", ",");
    if unescaped.replace("=3D", "").contains('=') {
        return None;
    }
    Some(unescaped.replace("=3D", "="))
}

fn sasl_name_of(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}

impl ClientFirst {
    pub fn parse(message: &[u8]) -> Result<ClientFirst, ScramError> {
        let text = String::from_utf8_lossy(message);
        let invalid =
            || ScramError::Invalid(format!("Invalid SCRAM client first message format: {text}"));
        let rest = text.strip_prefix("n,").ok_or_else(invalid)?;
        let (authzid_part, rest) = rest.split_once(',').ok_or_else(invalid)?;
        let authorization_id = if authzid_part.is_empty() {
            String::new()
        } else {
            let name = authzid_part.strip_prefix("a=").ok_or_else(invalid)?;
            username_of(name).ok_or_else(invalid)?
        };
        let mut parts = rest.split(',');
        let mut first = parts.next().ok_or_else(invalid)?;
        // Kafka's optional reserved `m=` attribute before the name.
        let mut bare_start = rest;
        if let Some(value) = first.strip_prefix("m=") {
            if !is_value(value) {
                return Err(invalid());
            }
            first = parts.next().ok_or_else(invalid)?;
            bare_start = &rest[value.len() + 3..];
        }
        let sasl_name = first.strip_prefix("n=").ok_or_else(invalid)?;
        let username = username_of(sasl_name).ok_or_else(invalid)?;
        let nonce = parts
            .next()
            .and_then(|part| part.strip_prefix("r="))
            .filter(|nonce| is_printable_nonce(nonce))
            .ok_or_else(invalid)?;
        let mut token_auth = false;
        for extension in parts {
            let (key, value) = extension.split_once('=').ok_or_else(invalid)?;
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) || !is_value(value) {
                return Err(invalid());
            }
            if key == "tokenauth" && value.eq_ignore_ascii_case("true") {
                token_auth = true;
            }
        }
        Ok(ClientFirst {
            username,
            authorization_id,
            nonce: nonce.to_string(),
            bare: bare_start.to_string(),
            token_auth,
        })
    }
}

/// A fresh nonce as Kafka makes one: 130 random bits in base 36.
pub fn random_nonce() -> String {
    let mut bytes = [0u8; 17];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    bytes[0] &= 0x03; // 130 bits
    let mut value: Vec<u8> = bytes.to_vec();
    let mut digits = Vec::new();
    // Repeated division of the big-endian number by 36.
    while value.iter().any(|b| *b != 0) {
        let mut remainder = 0u32;
        for byte in value.iter_mut() {
            let current = (remainder << 8) | u32::from(*byte);
            *byte = (current / 36) as u8;
            remainder = current % 36;
        }
        digits.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[remainder as usize]);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).expect("ascii digits")
}

/// Random salt bytes for a new credential (Kafka salts with a random string's bytes).
pub fn random_salt() -> Vec<u8> {
    random_nonce().into_bytes()
}

/// The server side of one exchange, between the two client messages.
#[derive(Debug, Clone)]
pub struct ServerExchange {
    mechanism: ScramMechanism,
    client_first: ClientFirst,
    credential: ScramCredential,
    server_first: String,
    nonce: String,
}

impl ServerExchange {
    /// Answers the client's first message given the user's credential (`None`: no
    /// such user or no credential of this mechanism).
    pub fn start(
        mechanism: ScramMechanism,
        client_first: ClientFirst,
        credential: Option<ScramCredential>,
        server_nonce: &str,
    ) -> Result<(ServerExchange, Vec<u8>), ScramError> {
        if client_first.token_auth {
            return Err(ScramError::Invalid(format!(
                "Token Authentication failed: Invalid tokenId : {}",
                client_first.username
            )));
        }
        let credential = credential.ok_or_else(|| {
            ScramError::Invalid("Authentication failed: Invalid user credentials".to_string())
        })?;
        if !client_first.authorization_id.is_empty()
            && client_first.authorization_id != client_first.username
        {
            return Err(ScramError::Refused(
                "Authentication failed: Client requested an authorization id that is different from username"
                    .to_string(),
            ));
        }
        if credential.iterations < ITERATIONS_MIN {
            return Err(ScramError::Invalid(format!(
                "Iterations {} is less than the minimum {ITERATIONS_MIN} for {}",
                credential.iterations,
                mechanism.name()
            )));
        }
        let nonce = format!("{}{server_nonce}", client_first.nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            BASE64.encode(&credential.salt),
            credential.iterations
        );
        let reply = server_first.clone().into_bytes();
        Ok((
            ServerExchange {
                mechanism,
                client_first,
                credential,
                server_first,
                nonce,
            },
            reply,
        ))
    }

    /// Checks the client's proof; the answer is the server's signature.
    pub fn finish(self, message: &[u8]) -> Result<(String, Vec<u8>), ScramError> {
        let text = String::from_utf8_lossy(message);
        let invalid =
            || ScramError::Invalid(format!("Invalid SCRAM client final message format: {text}"));
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or_else(invalid)?;
        let proof = BASE64.decode(proof).map_err(|_| invalid())?;
        let mut parts = without_proof.split(',');
        let channel = parts
            .next()
            .and_then(|part| part.strip_prefix("c="))
            .ok_or_else(invalid)?;
        BASE64.decode(channel).map_err(|_| invalid())?;
        let nonce = parts
            .next()
            .and_then(|part| part.strip_prefix("r="))
            .filter(|nonce| is_printable_nonce(nonce))
            .ok_or_else(invalid)?;
        if !nonce.ends_with(&self.nonce) {
            return Err(ScramError::Invalid(
                "Invalid client nonce in the final client message.".to_string(),
            ));
        }
        // Kafka signs the final message without its extensions: `c=..,r=..`.
        let auth_message = format!(
            "{},{},c={channel},r={nonce}",
            self.client_first.bare, self.server_first
        );
        let client_signature = self
            .mechanism
            .hmac(&self.credential.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(ScramError::Invalid(
                "Invalid client credentials".to_string(),
            ));
        }
        let client_key: Vec<u8> = client_signature
            .iter()
            .zip(&proof)
            .map(|(a, b)| a ^ b)
            .collect();
        let stored_key = self.mechanism.hash(&client_key);
        if !constant_time_equal(&stored_key, &self.credential.stored_key) {
            return Err(ScramError::Invalid(
                "Invalid client credentials".to_string(),
            ));
        }
        let server_signature = self
            .mechanism
            .hmac(&self.credential.server_key, auth_message.as_bytes());
        Ok((
            self.client_first.username,
            format!("v={}", BASE64.encode(server_signature)).into_bytes(),
        ))
    }
}

fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The client side (a keel broker logging in to another broker).
#[derive(Debug, Clone)]
pub struct ClientExchange {
    mechanism: ScramMechanism,
    password: String,
    client_nonce: String,
    bare: String,
}

impl ClientExchange {
    /// The client's first message.
    pub fn start(
        mechanism: ScramMechanism,
        username: &str,
        password: &str,
        client_nonce: &str,
    ) -> (ClientExchange, Vec<u8>) {
        let bare = format!("n={},r={client_nonce}", sasl_name_of(username));
        let message = format!("n,,{bare}").into_bytes();
        (
            ClientExchange {
                mechanism,
                password: password.to_string(),
                client_nonce: client_nonce.to_string(),
                bare,
            },
            message,
        )
    }

    /// Answers the server's first message; returns the final message and the
    /// signature the server must prove.
    pub fn respond(&self, server_first: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        let text = String::from_utf8_lossy(server_first);
        let invalid = || format!("Invalid SCRAM server first message format: {text}");
        let mut parts = text.split(',');
        let nonce = parts
            .next()
            .and_then(|part| part.strip_prefix("r="))
            .ok_or_else(invalid)?;
        let salt = parts
            .next()
            .and_then(|part| part.strip_prefix("s="))
            .and_then(|salt| BASE64.decode(salt).ok())
            .ok_or_else(invalid)?;
        let iterations: u32 = parts
            .next()
            .and_then(|part| part.strip_prefix("i="))
            .and_then(|value| value.parse().ok())
            .ok_or_else(invalid)?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err("Invalid server nonce: does not start with client nonce".to_string());
        }
        if (iterations as i32) < ITERATIONS_MIN {
            return Err(format!(
                "Requested iterations {iterations} is less than the minimum"
            ));
        }
        let salted = self
            .mechanism
            .salted_password(self.password.as_bytes(), &salt, iterations);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{text},{without_proof}", self.bare);
        let client_key = self.mechanism.hmac(&salted, b"Client Key");
        let stored_key = self.mechanism.hash(&client_key);
        let client_signature = self.mechanism.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = self.mechanism.hmac(&salted, b"Server Key");
        let server_signature = self.mechanism.hmac(&server_key, auth_message.as_bytes());
        Ok((
            format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes(),
            server_signature,
        ))
    }

    /// Checks the server's final message against the expected signature.
    pub fn verify(server_final: &[u8], expected_signature: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(server_final);
        if let Some(error) = text.strip_prefix("e=") {
            return Err(format!(
                "Sasl authentication using SCRAM failed with error: {error}"
            ));
        }
        let signature = text
            .split(',')
            .next()
            .and_then(|part| part.strip_prefix("v="))
            .and_then(|value| BASE64.decode(value).ok())
            .ok_or_else(|| format!("Invalid SCRAM server final message format: {text}"))?;
        if constant_time_equal(&signature, expected_signature) {
            Ok(())
        } else {
            Err("Invalid server signature in server final message".to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's SCRAM-SHA-256 example: user "user", password "pencil".
    #[test]
    fn rfc7677_example_verifies() {
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let credential = ScramCredential::derive(ScramMechanism::Sha256, b"pencil", &salt, 4096);
        let first = ClientFirst::parse(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").unwrap();
        let (exchange, server_first) = ServerExchange::start(
            ScramMechanism::Sha256,
            first,
            Some(credential),
            "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        )
        .unwrap();
        assert_eq!(
            server_first,
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let (user, server_final) = exchange
            .finish(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .unwrap();
        assert_eq!(user, "user");
        assert_eq!(
            server_final,
            b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn client_and_server_agree_and_a_wrong_password_fails() {
        for mechanism in ScramMechanism::ALL {
            let credential = ScramCredential::derive(mechanism, b"secret", b"salt", 4096);
            let stored = ScramCredential::from_zk_string(&credential.to_zk_string()).unwrap();
            assert_eq!(stored, credential);
            for (password, ok) in [("secret", true), ("wrong", false)] {
                let (client, first) = ClientExchange::start(mechanism, "a=b,c", password, "cn");
                let parsed = ClientFirst::parse(&first).unwrap();
                assert_eq!(parsed.username, "a=b,c");
                let (server, server_first) =
                    ServerExchange::start(mechanism, parsed, Some(stored.clone()), "sn").unwrap();
                let (client_final, expected) = client.respond(&server_first).unwrap();
                match server.finish(&client_final) {
                    Ok((_, server_final)) => {
                        assert!(ok);
                        ClientExchange::verify(&server_final, &expected).unwrap();
                    }
                    Err(error) => {
                        assert!(!ok);
                        assert_eq!(
                            error,
                            ScramError::Invalid("Invalid client credentials".to_string())
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn malformed_messages_and_names_are_refused() {
        for message in [
            &b"y,,n=u,r=x"[..],
            b"n,,n=u",
            b"n,,n=a=b,r=x",
            b"n,,n=,r=x",
            b"n,,n=u,r=",
            b"garbage",
            b"n,,n=u,r=x,1=2",
        ] {
            assert!(ClientFirst::parse(message).is_err(), "{message:?}");
        }
        let parsed = ClientFirst::parse(b"n,a=u,m=x,n=u,r=abc,tokenauth=true").unwrap();
        assert!(parsed.token_auth);
        assert_eq!(parsed.authorization_id, "u");
        assert_eq!(parsed.bare, "n=u,r=abc,tokenauth=true");
        assert!(ScramCredential::from_zk_string("salt=YQ==,iterations=4096").is_err());
        let nonce = random_nonce();
        assert!(is_printable_nonce(&nonce) && nonce.len() <= 26, "{nonce}");
    }
}
