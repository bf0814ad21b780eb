//! The bytes under the election and learner ports: plain TCP, or with
//! `sslQuorum=true` TLS as Apache's QuorumCnxManager and Learner set it up (a TLS
//! handshake before the first byte of the protocol, both sides presenting a
//! certificate, each checking that the other's names its address). Everything above
//! sees one stream type either way.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::zookeeper::tls::QuorumTls;

/// A connection to or from another ensemble member.
pub trait QuorumIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> QuorumIo for T {}

pub type QuorumStream = Box<dyn QuorumIo>;

/// What protects the quorum's connections: TLS (`sslQuorum`) and SASL
/// (`quorum.auth.enableSasl`), either, both or neither.
#[derive(Debug, Clone, Default)]
pub struct QuorumSecurity {
    pub tls: Option<QuorumTls>,
    pub sasl: Option<super::quorum_auth::QuorumSasl>,
}
pub type QuorumReader = tokio::io::ReadHalf<QuorumStream>;
pub type QuorumWriter = tokio::io::WriteHalf<QuorumStream>;

/// Logs a refused peer connection, the first times per peer address and then
/// fewer: a misconfigured peer redials twice a second. `refusal` names what
/// refused it ("election connection refused: TLS").
pub fn warn_refused(
    kind: &'static str,
    peer: SocketAddr,
    refusal: &str,
    error: &dyn std::fmt::Display,
) {
    if let Some(occurrences) = crate::warn_limit::occurrence(kind, &peer.ip().to_string()) {
        tracing::warn!(peer = %peer, %error, occurrences, "{refusal}");
    }
}

/// Dials `host:port` within `timeout` (connect and handshake together).
pub async fn connect(
    tls: Option<&QuorumTls>,
    host: &str,
    port: u16,
    timeout: Duration,
) -> io::Result<QuorumStream> {
    let dial = async {
        let stream = TcpStream::connect((host, port)).await?;
        let _ = stream.set_nodelay(true);
        let Some(tls) = tls else {
            return Ok(Box::new(stream) as QuorumStream);
        };
        let name = ServerName::try_from(host.to_string())
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let stream = tls.connector.connect(name, stream).await?;
        Ok(Box::new(stream) as QuorumStream)
    };
    match tokio::time::timeout(timeout, dial).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no connection to {host}:{port} within {timeout:?}"),
        )),
    }
}

/// Completes an accepted connection: the TLS handshake (within `timeout`) and, as
/// Apache's ZKTrustManager does for quorum peers, the check that the dialler's
/// certificate names the address it came from.
pub async fn accept(
    tls: Option<&QuorumTls>,
    stream: TcpStream,
    peer: SocketAddr,
    timeout: Duration,
) -> io::Result<QuorumStream> {
    let _ = stream.set_nodelay(true);
    let Some(tls) = tls else {
        return Ok(Box::new(stream));
    };
    let handshake = crate::tls::accept(&tls.acceptor, stream);
    let stream = match tokio::time::timeout(timeout, handshake).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no TLS handshake within {timeout:?}"),
            ))
        }
    };
    if tls.verify_client_hostname {
        let (_, session) = stream.get_ref();
        let certificate = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::PermissionDenied, "no client certificate")
            })?;
        certificate_names_address(certificate.as_ref(), peer)?;
    }
    Ok(Box::new(stream))
}

/// Apache tries the address as text first; it then tries the reverse-DNS name,
/// which keel does not look up: a peer's certificate must carry its IP address.
fn certificate_names_address(certificate_der: &[u8], peer: SocketAddr) -> io::Result<()> {
    let der = rustls::pki_types::CertificateDer::from(certificate_der);
    let certificate = webpki::EndEntityCert::try_from(&der)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, format!("{error:?}")))?;
    let name = ServerName::IpAddress(peer.ip().into());
    certificate
        .verify_is_valid_for_subject_name(&name)
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "the peer's certificate does not name {} (ssl.quorum.hostnameVerification)",
                    peer.ip()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_certificate() -> Vec<u8> {
        let pem = std::fs::read_to_string(format!(
            "{}/src/tls/testdata/broker.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        crate::tls::keystore::certificates_from_pem(&pem).unwrap()[0]
            .as_ref()
            .to_vec()
    }

    #[test]
    fn a_peer_certificate_must_name_the_address_it_comes_from() {
        // broker.pem names 127.0.0.1 and localhost.
        let certificate = test_certificate();
        assert!(certificate_names_address(&certificate, "127.0.0.1:3888".parse().unwrap()).is_ok());
        let error =
            certificate_names_address(&certificate, "127.0.0.2:3888".parse().unwrap()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
        assert!(
            certificate_names_address(b"not a certificate", "127.0.0.1:1".parse().unwrap())
                .is_err()
        );
    }
}
