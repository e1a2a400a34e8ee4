//! The RTMP handshake (C0-C2 / S0-S2), driven by rml_rtmp's sans-IO
//! [`Handshake`].

use super::error::ConnError;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Read size during the handshake: C0+C1 is 1537 bytes, C2 1536. The
/// handshake buffers at most what it has been given, so this bounds input.
const READ_SIZE: usize = 4096;

/// Runs the server side of the handshake. Returns the bytes the client sent
/// after C2 (the start of the chunk stream). The caller bounds the time.
pub async fn perform(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
) -> Result<Vec<u8>, ConnError> {
    let mut handshake = Handshake::new(PeerType::Server);
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(ConnError::Handshake(
                "connection closed during the handshake".into(),
            ));
        }
        let result = handshake
            .process_bytes(&buf[..n])
            .map_err(|e| ConnError::Handshake(e.to_string()))?;
        match result {
            HandshakeProcessResult::InProgress { response_bytes } => {
                stream.write_all(&response_bytes).await?;
            }
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                stream.write_all(&response_bytes).await?;
                return Ok(remaining_bytes);
            }
        }
    }
}
