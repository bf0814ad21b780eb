//! TLS as Kafka's and ZooKeeper's JVM servers configure it, on rustls: a server
//! configuration from a key store, a trust store, the client-authentication mode,
//! the enabled protocol versions and cipher suites; and the client configuration a
//! broker uses towards another broker's TLS listener.
//!
//! Reading the stores is `keystore`'s job; mapping each product's key names to
//! `TlsSettings` is the product's (`kafka::security::ssl`).
//!
//! # Layout
//! - `keystore`: JKS, PKCS12 and PEM stores to certificates and keys.
//! - `x509`: a certificate's subject as Java names it (ZooKeeper's x509 ids).

pub mod keystore;
pub mod x509;

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

pub use keystore::{Identity, StoreType};

/// `ssl.client.auth`: whether a TLS server asks for a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    /// Asked for; a client without one is still served.
    Requested,
    /// A client without a certificate the trust store vouches for is refused.
    Required,
}

/// A TLS protocol version keel can speak (rustls has no TLS 1.0 / 1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tls12,
    Tls13,
}

impl Protocol {
    /// Java's names, as `ssl.enabled.protocols` lists them. `Err` for a version Java
    /// knows and keel cannot speak.
    pub fn from_java_name(name: &str) -> Result<Protocol, String> {
        match name.trim() {
            "TLSv1.2" => Ok(Protocol::Tls12),
            "TLSv1.3" => Ok(Protocol::Tls13),
            other => Err(format!(
                "{other} is not supported (TLSv1.2 and TLSv1.3 are)"
            )),
        }
    }
}

/// What a TLS endpoint needs, whatever product named it.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub identity: Option<Identity>,
    pub trusted: Option<Vec<CertificateDer<'static>>>,
    pub client_auth: ClientAuth,
    pub protocols: Vec<Protocol>,
    /// IANA names (`TLS_AES_128_GCM_SHA256`, `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`);
    /// `None`: every suite rustls offers.
    pub cipher_suites: Option<Vec<String>>,
    /// A client checks that the server's certificate names the host it dialled
    /// (Kafka's `ssl.endpoint.identification.algorithm=https`, its default).
    pub verify_hostname: bool,
}

/// A server configuration; equal only to itself (for the listener tables that
/// compare security set-ups).
#[derive(Clone)]
pub struct TlsServer(pub Arc<ServerConfig>);

impl fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsServer")
    }
}

impl PartialEq for TlsServer {
    fn eq(&self, other: &TlsServer) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TlsServer {}

/// A client configuration, compared as `TlsServer` is.
#[derive(Clone)]
pub struct TlsClient(pub Arc<ClientConfig>);

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsClient")
    }
}

impl PartialEq for TlsClient {
    fn eq(&self, other: &TlsClient) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TlsClient {}

/// ring's suites, cut to `cipher_suites` when set. A listed suite rustls lacks is
/// skipped (Java lists many it would also skip when the peer lacks them); none left
/// is an error.
fn provider(settings: &TlsSettings) -> Result<Arc<CryptoProvider>, String> {
    let mut provider = ring_provider();
    if let Some(wanted) = &settings.cipher_suites {
        provider.cipher_suites.retain(|suite| {
            let name = suite_iana_name(suite.suite());
            wanted.iter().any(|w| w.trim() == name)
        });
        if provider.cipher_suites.is_empty() {
            let offered: Vec<String> = ring_provider()
                .cipher_suites
                .iter()
                .map(|suite| suite_iana_name(suite.suite()))
                .collect();
            return Err(format!(
                "none of the cipher suites {} is supported; keel offers {}",
                wanted.join(","),
                offered.join(",")
            ));
        }
    }
    Ok(Arc::new(provider))
}

/// ring, not aws-lc-rs: it builds with a C compiler alone (aws-lc needs cmake), and
/// the JVM clients keel serves do not offer post-quantum key exchange, the one thing
/// the deprecation points at.
#[allow(deprecated)]
pub(crate) fn ring_provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// rustls names TLS 1.3 suites `TLS13_*`; Java and IANA say `TLS_*`.
fn suite_iana_name(suite: rustls::CipherSuite) -> String {
    let name = suite
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{suite:?}"));
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

fn versions(
    settings: &TlsSettings,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    for protocol in &settings.protocols {
        let version = match protocol {
            Protocol::Tls12 => &rustls::version::TLS12,
            Protocol::Tls13 => &rustls::version::TLS13,
        };
        if !versions.iter().any(|v| std::ptr::eq(*v, version)) {
            versions.push(version);
        }
    }
    if versions.is_empty() {
        return Err("no TLS protocol version is enabled".into());
    }
    Ok(versions)
}

fn roots(trusted: &[CertificateDer<'static>]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(trusted.iter().cloned());
    if added == 0 {
        return Err(format!(
            "no usable certificate in the trust store ({ignored} could not be parsed)"
        ));
    }
    Ok(roots)
}

/// A TLS server as a Kafka listener or ZooKeeper's secure port runs it.
pub fn server_config(settings: &TlsSettings) -> Result<TlsServer, String> {
    let identity = settings
        .identity
        .clone()
        .ok_or("a TLS listener needs a key store (its certificate and private key)")?;
    let provider = provider(settings)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(settings)?)
        .map_err(|error| format!("the protocol versions and cipher suites do not fit: {error}"))?;
    let builder = match settings.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => {
            let trusted = settings.trusted.as_deref().ok_or(
                "client authentication needs a trust store (the JVM's default cacerts is not read by keel)",
            )?;
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots(trusted)?), provider);
            let verifier = if auth == ClientAuth::Requested {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|error| format!("cannot verify client certificates: {error}"))?;
            builder.with_client_cert_verifier(Arc::new(JavaAlerts(verifier)))
        }
    };
    let config = builder
        .with_single_cert(identity.chain, identity.key)
        .map_err(|error| format!("the key store's key and certificate do not fit: {error}"))?;
    Ok(TlsServer(Arc::new(config)))
}

/// A TLS client towards another broker: trusts the trust store, presents the key
/// store's certificate when there is one.
pub fn client_config(settings: &TlsSettings) -> Result<TlsClient, String> {
    let provider = provider(settings)?;
    let trusted = settings.trusted.as_deref().ok_or(
        "a TLS client needs a trust store (the JVM's default cacerts is not read by keel)",
    )?;
    let webpki =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots(trusted)?), provider.clone())
            .build()
            .map_err(|error| format!("cannot verify server certificates: {error}"))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions(settings)?)
        .map_err(|error| format!("the protocol versions and cipher suites do not fit: {error}"))?;
    let builder = if settings.verify_hostname {
        builder.with_webpki_verifier(webpki)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyHostName(webpki)))
    };
    let config = match settings.identity.clone() {
        Some(identity) => builder
            .with_client_auth_cert(identity.chain, identity.key)
            .map_err(|error| format!("the key store's key and certificate do not fit: {error}"))?,
        None => builder.with_no_client_auth(),
    };
    Ok(TlsClient(Arc::new(config)))
}

/// Accepts a TLS connection. When the handshake fails, the alert rustls wrote is
/// followed by an orderly close: closing a socket with the client's unread bytes in
/// it (in TLS 1.3 its Finished and first request arrive with its certificate) sends
/// a reset, and the client then reports "broken pipe" instead of the alert, which a
/// JVM server lets it read.
pub async fn accept(
    acceptor: &tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
) -> std::io::Result<tokio_rustls::server::TlsStream<tokio::net::TcpStream>> {
    match acceptor.accept(tcp).into_fallible().await {
        Ok(stream) => Ok(stream),
        Err((error, tcp)) => {
            close_gently(tcp).await;
            Err(error)
        }
    }
}

/// FIN, then read and drop what the peer still sends until it closes too (one
/// second at most).
async fn close_gently(mut tcp: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tcp.shutdown().await;
    let mut sink = [0u8; 4096];
    let drain = async {
        while let Ok(read) = tcp.read(&mut sink).await {
            if read == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), drain).await;
}

/// A client-certificate verifier that refuses with the alert Java's servers send:
/// JSSE answers a certificate from an unknown CA with certificate_unknown, where
/// rustls says unknown_ca; clients print the alert (Go: "tls: unknown certificate"),
/// so the same refusal should read the same.
#[derive(Debug)]
struct JavaAlerts(Arc<dyn ClientCertVerifier>);

/// The error behind a certificate_unknown alert that was an unknown issuer.
#[derive(Debug)]
struct UnknownIssuer;

impl fmt::Display for UnknownIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnknownIssuer")
    }
}

impl std::error::Error for UnknownIssuer {}

impl ClientCertVerifier for JavaAlerts {
    fn offer_client_auth(&self) -> bool {
        self.0.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.0.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self.0.verify_client_cert(end_entity, intermediates, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Other(rustls::OtherError(Arc::new(UnknownIssuer))),
                ))
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Kafka's `ssl.endpoint.identification.algorithm=` (empty): the chain must still
/// lead to a trusted certificate, but need not name the host.
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/src/tls/testdata/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn settings(identity: Option<Identity>, client_auth: ClientAuth) -> TlsSettings {
        TlsSettings {
            identity,
            trusted: Some(
                keystore::load_trusted(StoreType::Pkcs12, &testdata("trust.p12"), Some("trustpw"))
                    .unwrap(),
            ),
            client_auth,
            protocols: vec![Protocol::Tls12, Protocol::Tls13],
            cipher_suites: None,
            verify_hostname: true,
        }
    }

    fn broker_identity() -> Identity {
        keystore::load_identity(
            StoreType::Jks,
            &testdata("broker.jks"),
            Some("secret2"),
            Some("secret3"),
        )
        .unwrap()
    }

    #[test]
    fn every_store_format_gives_the_same_identity_and_trust() {
        let leaf =
            keystore::certificates_from_pem(std::str::from_utf8(&testdata("broker.pem")).unwrap())
                .unwrap()
                .remove(0);
        let stores = [
            keystore::load_identity(
                StoreType::Jks,
                &testdata("broker.jks"),
                Some("secret2"),
                Some("secret3"),
            ),
            keystore::load_identity(
                StoreType::Pkcs12,
                &testdata("broker.p12"),
                Some("secret4"),
                Some("secret4"),
            ),
            keystore::load_identity(
                StoreType::Pem,
                &testdata("broker-keystore.pem"),
                None,
                Some("keypw"),
            ),
            keystore::load_identity(
                StoreType::Pem,
                &testdata("broker-keystore-3des.pem"),
                None,
                Some("keypw3"),
            ),
        ];
        for identity in stores {
            let identity = identity.unwrap();
            assert_eq!(identity.chain[0], leaf);
            // rustls checks that the key is the certificate's.
            server_config(&settings(Some(identity), ClientAuth::Required)).unwrap();
        }
        let ca = keystore::certificates_from_pem(std::str::from_utf8(&testdata("ca.pem")).unwrap())
            .unwrap();
        assert_eq!(
            keystore::load_trusted(StoreType::Jks, &testdata("trust.jks"), Some("trustpw"))
                .unwrap(),
            ca
        );
        assert_eq!(
            keystore::load_trusted(StoreType::Pkcs12, &testdata("trust.p12"), Some("trustpw"))
                .unwrap(),
            ca
        );
        // A JKS trust store may be read without its password (no integrity check), as Java does.
        assert_eq!(
            keystore::load_trusted(StoreType::Jks, &testdata("trust.jks"), None).unwrap(),
            ca
        );
    }

    #[test]
    fn wrong_passwords_are_refused_with_a_reason() {
        let jks = testdata("broker.jks");
        let error = keystore::load_identity(StoreType::Jks, &jks, Some("nope"), Some("secret3"))
            .unwrap_err();
        assert!(error.contains("password was incorrect"), "{error}");
        let error = keystore::load_identity(StoreType::Jks, &jks, Some("secret2"), Some("nope"))
            .unwrap_err();
        assert!(error.contains("Cannot recover key"), "{error}");
        assert!(keystore::load_identity(
            StoreType::Pkcs12,
            &testdata("broker.p12"),
            Some("nope"),
            None
        )
        .is_err());
        let pem = testdata("broker-keystore.pem");
        assert!(keystore::load_identity(StoreType::Pem, &pem, None, Some("nope")).is_err());
        let pem_3des = testdata("broker-keystore-3des.pem");
        assert!(keystore::load_identity(StoreType::Pem, &pem_3des, None, Some("nope")).is_err());
        let error = keystore::load_identity(StoreType::Pem, &pem, None, None).unwrap_err();
        assert!(error.contains("encrypted"), "{error}");
        // One store's bytes read as another format fail cleanly.
        assert!(keystore::load_identity(
            StoreType::Jks,
            &testdata("broker.p12"),
            Some("secret4"),
            None
        )
        .is_err());
        assert!(keystore::load_identity(StoreType::Pkcs12, &jks, Some("secret2"), None).is_err());
    }

    #[test]
    fn cipher_suites_and_protocols_follow_java_names() {
        let mut wanted = settings(Some(broker_identity()), ClientAuth::None);
        wanted.cipher_suites = Some(vec![
            "TLS_AES_256_GCM_SHA384".into(),
            "TLS_RSA_WITH_NULL_SHA".into(),
        ]);
        let suites = provider(&wanted).unwrap().cipher_suites.clone();
        assert_eq!(suites.len(), 1);
        assert_eq!(suite_iana_name(suites[0].suite()), "TLS_AES_256_GCM_SHA384");
        wanted.cipher_suites = Some(vec!["TLS_RSA_WITH_NULL_SHA".into()]);
        assert!(server_config(&wanted).is_err());
        assert!(Protocol::from_java_name("TLSv1.1").is_err());
        assert_eq!(Protocol::from_java_name("TLSv1.3"), Ok(Protocol::Tls13));
    }

    async fn handshake(server: &TlsServer, client: &TlsClient) -> std::io::Result<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let acceptor = tokio_rustls::TlsAcceptor::from(server.0.clone());
        let serving = async move {
            let (tcp, _) = listener.accept().await?;
            let mut stream = acceptor.accept(tcp).await?;
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await?;
            stream.write_all(&byte).await?;
            stream.flush().await
        };
        let connector = tokio_rustls::TlsConnector::from(client.0.clone());
        let calling = async move {
            let tcp = tokio::net::TcpStream::connect(address).await?;
            let name = ServerName::try_from("127.0.0.1").unwrap();
            let mut stream = connector.connect(name, tcp).await?;
            stream.write_all(b"k").await?;
            stream.flush().await?;
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await?;
            Ok::<_, std::io::Error>(())
        };
        let (served, called) = tokio::join!(serving, calling);
        served.and(called)
    }

    #[tokio::test]
    async fn mutual_tls_needs_a_certificate_the_trust_store_vouches_for() {
        let server =
            server_config(&settings(Some(broker_identity()), ClientAuth::Required)).unwrap();
        let with_certificate =
            client_config(&settings(Some(broker_identity()), ClientAuth::None)).unwrap();
        handshake(&server, &with_certificate).await.unwrap();
        let without = client_config(&settings(None, ClientAuth::None)).unwrap();
        assert!(handshake(&server, &without).await.is_err());
        let requested =
            server_config(&settings(Some(broker_identity()), ClientAuth::Requested)).unwrap();
        handshake(&requested, &without).await.unwrap();
    }
}
