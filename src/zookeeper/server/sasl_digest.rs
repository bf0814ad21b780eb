//! SASL DIGEST-MD5 (RFC 2831) as ZooKeeper runs it. The server side for clients
//! (Java's DigestMD5Server under `ZooKeeperSaslServer`): protocol `zookeeper`, server
//! name and realm `zk-sasl-md5`, qop `auth`, users and passwords from the
//! `user_<name>` options of the JAAS `Server` section's DigestLoginModule. Ensemble
//! members authenticate each other the same way under protocol `zookeeper-quorum`
//! and server name `zk-quorum-sasl-md5` (`QUORUM`), where a member is also the
//! client (`DigestMd5Client`).
//!
//! Two steps: the client's empty first token gets the challenge; its digest
//! response is checked and answered with `rspauth`, which completes the exchange
//! with the authorization id (the `authzid`, else the user). Pure but for the
//! nonce, which the caller supplies.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

pub use crate::zookeeper::tree::auth::SaslUsers;

/// ZooKeeper's DIGEST-MD5 server name, which is also the realm it offers.
pub const REALM: &str = "zk-sasl-md5";

/// A SASL service: the server name (also the realm offered) and the digest URI
/// (`protocol/server name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub realm: &'static str,
    pub digest_uri: &'static str,
}

/// Clients of a ZooKeeper server (`ZooKeeperSaslServer`).
pub const CLIENTS: Service = Service {
    realm: REALM,
    digest_uri: "zookeeper/zk-sasl-md5",
};

/// Ensemble members (`QuorumAuth.QUORUM_SERVER_PROTOCOL_NAME` /
/// `QUORUM_SERVER_SASL_DIGEST`).
pub const QUORUM: Service = Service {
    realm: "zk-quorum-sasl-md5",
    digest_uri: "zookeeper-quorum/zk-quorum-sasl-md5",
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Challenge,
    Response { nonce: String },
    Complete,
    Failed,
}

/// One connection's exchange.
#[derive(Debug, Clone)]
pub struct DigestMd5Server {
    step: Step,
    service: Service,
}

/// What a token produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send this token back and wait for the next.
    Continue(Vec<u8>),
    /// Authenticated as this id; send this last token.
    Complete {
        authorization_id: String,
        reply: Vec<u8>,
    },
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits `key=value,key="quoted, value"` into pairs (RFC 2831 directives).
fn directives(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!("directive {key:?} has no value"));
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(escaped) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(format!("unterminated value of {key}"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        let key = key.trim().to_ascii_lowercase();
        if out.insert(key.clone(), value.trim().to_string()).is_some() {
            return Err(format!("duplicate directive {key}"));
        }
    }
}

/// The bytes of a name or password in A1: UTF-8 when the client chose it,
/// ISO-8859-1 otherwise (where every character fits), as Java's DIGEST-MD5 does.
fn encode(text: &str, utf8: bool) -> Vec<u8> {
    if !utf8 && text.chars().all(|c| (c as u32) < 256) {
        text.chars().map(|c| c as u8).collect()
    } else {
        text.as_bytes().to_vec()
    }
}

impl Default for DigestMd5Server {
    fn default() -> Self {
        DigestMd5Server::new()
    }
}

impl DigestMd5Server {
    pub fn new() -> DigestMd5Server {
        DigestMd5Server::for_service(CLIENTS)
    }

    pub fn for_service(service: Service) -> DigestMd5Server {
        DigestMd5Server {
            step: Step::Challenge,
            service,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.step == Step::Complete
    }

    /// Evaluates one client token. `nonce` is a fresh random nonce (used at the
    /// first step only). An error is Java's SaslException text.
    pub fn evaluate(
        &mut self,
        token: &[u8],
        users: &SaslUsers,
        nonce: &str,
    ) -> Result<Outcome, String> {
        let result = self.step_once(token, users, nonce);
        if result.is_err() {
            self.step = Step::Failed;
        }
        result
    }

    fn step_once(
        &mut self,
        token: &[u8],
        users: &SaslUsers,
        nonce: &str,
    ) -> Result<Outcome, String> {
        match std::mem::replace(&mut self.step, Step::Failed) {
            Step::Challenge => {
                if !token.is_empty() && !token.iter().all(|b| b.is_ascii_whitespace()) {
                    // DIGEST-MD5 has no initial response.
                    return Err(
                        "DIGEST-MD5: protocol violation: the initial response must be empty"
                            .to_string(),
                    );
                }
                // As Java's DigestMD5Server words it: no qop directive when the
                // only one offered is the default, auth.
                let challenge = format!(
                    "realm=\"{}\",nonce=\"{nonce}\",charset=utf-8,algorithm=md5-sess",
                    self.service.realm
                );
                self.step = Step::Response {
                    nonce: nonce.to_string(),
                };
                Ok(Outcome::Continue(challenge.into_bytes()))
            }
            Step::Response { nonce } => {
                let text = std::str::from_utf8(token)
                    .map_err(|_| "DIGEST-MD5: digest response is not UTF-8".to_string())?;
                let fields = directives(text).map_err(|why| {
                    format!("DIGEST-MD5: digest response format violation: {why}")
                })?;
                let field = |name: &str| {
                    fields.get(name).map(String::as_str).ok_or_else(|| {
                        format!("DIGEST-MD5: digest response format violation. Missing {name}.")
                    })
                };
                let username = field("username")?;
                let realm = fields.get("realm").map(String::as_str).unwrap_or("");
                if !realm.is_empty() && realm != self.service.realm {
                    return Err(format!(
                        "DIGEST-MD5: digest response format violation. Nonexistent realm: {realm}"
                    ));
                }
                if field("nonce")? != nonce {
                    return Err(
                        "DIGEST-MD5: digest response format violation. Mismatched nonce."
                            .to_string(),
                    );
                }
                let cnonce = field("cnonce")?;
                let nc = field("nc")?;
                if u32::from_str_radix(nc, 16) != Ok(1) {
                    return Err(
                        "DIGEST-MD5: digest response format violation. Nonce count does not match: "
                            .to_string() + nc,
                    );
                }
                let qop = fields.get("qop").map(String::as_str).unwrap_or("auth");
                if qop != "auth" {
                    return Err(format!(
                        "DIGEST-MD5: digest response format violation. Invalid QOP: {qop}"
                    ));
                }
                let digest_uri = field("digest-uri")?;
                if !digest_uri.eq_ignore_ascii_case(self.service.digest_uri) {
                    return Err(format!(
                        "DIGEST-MD5: digest response format violation. Mismatched URI: {digest_uri}; expecting: {}",
                        self.service.digest_uri
                    ));
                }
                let response = field("response")?;
                let authzid = fields.get("authzid").map(String::as_str);
                let utf8 = fields
                    .get("charset")
                    .is_some_and(|c| c.eq_ignore_ascii_case("utf-8"));
                let password = users.0.get(username).ok_or_else(|| {
                    format!("DIGEST-MD5: cannot acquire password for {username} in realm : {realm}")
                })?;
                let user_hash = md5(&[
                    &encode(username, utf8),
                    b":",
                    &encode(realm, utf8),
                    b":",
                    &encode(password, utf8),
                ]);
                let mut a1 = user_hash.to_vec();
                a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
                if let Some(authzid) = authzid {
                    a1.extend_from_slice(b":");
                    a1.extend_from_slice(authzid.as_bytes());
                }
                let ha1 = hex(&md5(&[&a1]));
                let digest = |a2: &str| {
                    let ha2 = hex(&md5(&[a2.as_bytes()]));
                    hex(&md5(&[
                        format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}").as_bytes()
                    ]))
                };
                let expected = digest(&format!("AUTHENTICATE:{digest_uri}"));
                if !constant_time_equal(
                    expected.as_bytes(),
                    response.to_ascii_lowercase().as_bytes(),
                ) {
                    return Err(
                        "DIGEST-MD5: digest response format violation. Mismatched response."
                            .to_string(),
                    );
                }
                let rspauth = digest(&format!(":{digest_uri}"));
                self.step = Step::Complete;
                Ok(Outcome::Complete {
                    authorization_id: authzid.unwrap_or(username).to_string(),
                    reply: format!("rspauth={rspauth}").into_bytes(),
                })
            }
            Step::Complete | Step::Failed => {
                Err("DIGEST-MD5: authentication already completed or failed".to_string())
            }
        }
    }
}

/// The client half, as Java's DigestMD5Client answers a ZooKeeper server: no
/// initial response, then the digest response to the challenge (qop `auth`, UTF-8,
/// the realm the server offered), then the check of the server's `rspauth`.
#[derive(Debug, Clone)]
pub struct DigestMd5Client {
    service: Service,
    username: String,
    password: String,
    /// After the response: the `rspauth` the server must send.
    expected_rspauth: Option<String>,
    complete: bool,
}

impl DigestMd5Client {
    pub fn new(service: Service, username: &str, password: &str) -> DigestMd5Client {
        DigestMd5Client {
            service,
            username: username.to_string(),
            password: password.to_string(),
            expected_rspauth: None,
            complete: false,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Answers one server token: `Some(response)` to send, `None` once the server's
    /// `rspauth` proved it knows the password too. `cnonce` is a fresh random nonce.
    pub fn evaluate(&mut self, challenge: &[u8], cnonce: &str) -> Result<Option<Vec<u8>>, String> {
        let text = std::str::from_utf8(challenge)
            .map_err(|_| "DIGEST-MD5: the server's token is not UTF-8".to_string())?;
        let fields = directives(text)
            .map_err(|why| format!("DIGEST-MD5: the server's token does not parse: {why}"))?;
        if let Some(expected) = self.expected_rspauth.take() {
            let rspauth = fields
                .get("rspauth")
                .ok_or("DIGEST-MD5: the server's last token has no rspauth")?;
            if !constant_time_equal(expected.as_bytes(), rspauth.to_ascii_lowercase().as_bytes()) {
                return Err("DIGEST-MD5: the server's rspauth does not match: it does not know the password".to_string());
            }
            self.complete = true;
            return Ok(None);
        }
        let nonce = fields
            .get("nonce")
            .ok_or("DIGEST-MD5: the challenge has no nonce")?;
        if let Some(qop) = fields.get("qop") {
            if !qop.split(',').any(|offered| offered.trim() == "auth") {
                return Err(format!("DIGEST-MD5: the server offers no qop auth: {qop}"));
            }
        }
        let realm = fields
            .get("realm")
            .map(String::as_str)
            .unwrap_or(self.service.realm);
        let digest_uri = self.service.digest_uri;
        let user_hash = md5(&[
            self.username.as_bytes(),
            b":",
            realm.as_bytes(),
            b":",
            self.password.as_bytes(),
        ]);
        let mut a1 = user_hash.to_vec();
        a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
        let ha1 = hex(&md5(&[&a1]));
        let digest = |a2: &str| {
            let ha2 = hex(&md5(&[a2.as_bytes()]));
            hex(&md5(&[format!(
                "{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"
            )
            .as_bytes()]))
        };
        let response = digest(&format!("AUTHENTICATE:{digest_uri}"));
        self.expected_rspauth = Some(digest(&format!(":{digest_uri}")));
        let quote = |value: &str| value.replace('\\', "\\\\").replace('"', "\\\"");
        Ok(Some(
            format!(
                "charset=utf-8,username=\"{}\",realm=\"{}\",nonce=\"{}\",nc=00000001,cnonce=\"{cnonce}\",digest-uri=\"{digest_uri}\",maxbuf=65536,response={response},qop=auth",
                quote(&self.username),
                quote(realm),
                quote(nonce),
            )
            .into_bytes(),
        ))
    }
}

fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh server nonce: 30 random bytes as URL-safe printable text.
pub fn random_nonce() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 30];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> SaslUsers {
        SaslUsers([("alice".to_string(), "alice-secret".to_string())].into())
    }

    /// The client half of RFC 2831 with qop auth, as ZooKeeper's Java client sends it.
    fn client_response(password: &str, nonce: &str, cnonce: &str) -> String {
        let user_hash = md5(&[b"alice:zk-sasl-md5:", password.as_bytes()]);
        let mut a1 = user_hash.to_vec();
        a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
        let ha1 = hex(&md5(&[&a1]));
        let ha2 = hex(&md5(&[b"AUTHENTICATE:zookeeper/zk-sasl-md5"]));
        let response = hex(&md5(&[format!(
            "{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"
        )
        .as_bytes()]));
        format!("charset=utf-8,username=\"alice\",realm=\"zk-sasl-md5\",nonce=\"{nonce}\",nc=00000001,cnonce=\"{cnonce}\",digest-uri=\"zookeeper/zk-sasl-md5\",maxbuf=65536,response={response},qop=auth")
    }

    #[test]
    fn challenge_then_response_then_rspauth() {
        let mut server = DigestMd5Server::new();
        let Outcome::Continue(challenge) = server.evaluate(b"", &users(), "N0nce").unwrap() else {
            panic!("a challenge first")
        };
        let challenge = String::from_utf8(challenge).unwrap();
        assert_eq!(directives(&challenge).unwrap()["nonce"], "N0nce");
        let outcome = server
            .evaluate(
                client_response("alice-secret", "N0nce", "cn").as_bytes(),
                &users(),
                "unused",
            )
            .unwrap();
        let Outcome::Complete {
            authorization_id,
            reply,
        } = outcome
        else {
            panic!("complete")
        };
        assert_eq!(authorization_id, "alice");
        assert!(reply.starts_with(b"rspauth=") && reply.len() == 8 + 32);
        assert!(server.is_complete());
    }

    #[test]
    fn the_client_half_authenticates_to_the_server_half_for_either_service() {
        for service in [CLIENTS, QUORUM] {
            let mut server = DigestMd5Server::for_service(service);
            let mut client = DigestMd5Client::new(service, "alice", "alice-secret");
            let Outcome::Continue(challenge) = server.evaluate(b"", &users(), "N0nce").unwrap()
            else {
                panic!("a challenge first")
            };
            let response = client.evaluate(&challenge, "cn0nce").unwrap().unwrap();
            let Outcome::Complete {
                authorization_id,
                reply,
            } = server.evaluate(&response, &users(), "unused").unwrap()
            else {
                panic!("complete")
            };
            assert_eq!(authorization_id, "alice");
            assert_eq!(client.evaluate(&reply, "unused").unwrap(), None);
            assert!(client.is_complete());
        }
        // The same response for the clients' service is refused by the quorum's.
        let mut client = DigestMd5Client::new(CLIENTS, "alice", "alice-secret");
        let mut server = DigestMd5Server::for_service(QUORUM);
        let Outcome::Continue(challenge) = server.evaluate(b"", &users(), "N").unwrap() else {
            panic!("a challenge first")
        };
        let response = client.evaluate(&challenge, "c").unwrap().unwrap();
        assert!(server.evaluate(&response, &users(), "N").is_err());
        // A wrong password: the server refuses; a forged rspauth: the client refuses.
        let mut client = DigestMd5Client::new(QUORUM, "alice", "wrong");
        let mut server = DigestMd5Server::for_service(QUORUM);
        let Outcome::Continue(challenge) = server.evaluate(b"", &users(), "N").unwrap() else {
            panic!("a challenge first")
        };
        let response = client.evaluate(&challenge, "c").unwrap().unwrap();
        assert!(server.evaluate(&response, &users(), "N").is_err());
        assert!(client
            .evaluate(b"rspauth=00000000000000000000000000000000", "c")
            .is_err());
        assert!(!client.is_complete());
    }

    #[test]
    fn wrong_password_unknown_user_and_garbage_fail() {
        for response in [
            client_response("wrong", "N", "c"),
            client_response("alice-secret", "other-nonce", "c"),
            client_response("alice-secret", "N", "c").replace("alice", "bob"),
            "username=\"alice".to_string(),
            "\u{0}\u{1}".to_string(),
            String::new(),
        ] {
            let mut server = DigestMd5Server::new();
            server.evaluate(b"", &users(), "N").unwrap();
            assert!(
                server.evaluate(response.as_bytes(), &users(), "N").is_err(),
                "{response}"
            );
            assert!(!server.is_complete());
            assert!(server.evaluate(b"", &users(), "N").is_err());
        }
        let mut server = DigestMd5Server::new();
        assert!(server.evaluate(b"not empty", &users(), "N").is_err());
    }
}
