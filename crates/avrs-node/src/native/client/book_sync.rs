//! BOOK_SYNC on a client session: an operator node asks the host for its
//! cluster book, one chunk per request. The reply's bytes go back as they
//! came: the caller checks the host's signature over exactly them.

use super::Session;
use crate::native::session::{ClientEvent, ClientSession};
use avrs_proto::avrs::Request as _;
use avrs_proto::avrs::cluster::BookSync;
use avrs_proto::avrs::quic::CloseCode;

impl Session {
    /// Sends `request` and waits for the BOOK_SYNC_RESPONSE (its bytes);
    /// a refusal is an error naming its code and tag.
    pub async fn book_sync(&mut self, request: &BookSync) -> anyhow::Result<Vec<u8>> {
        let packet = request.to_packet()?.finish();
        let answered = self
            .cluster_exchange(
                &packet,
                ClientSession::sent_book_sync,
                |event| match event {
                    ClientEvent::BookSynced(bytes) => Some(bytes),
                    _ => None,
                },
            )
            .await?;
        answered
            .map_err(|reply| anyhow::anyhow!("BOOK_SYNC refused: {} {}", reply.code, reply.text))
    }

    /// Closes the connection now (a session used for requests only).
    pub fn close_now(&self) {
        self.conn.close(CloseCode::NoError.code().into(), b"done");
    }
}
