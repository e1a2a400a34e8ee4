//! Taking a watch back after its connection was lost: a new connection,
//! an OPEN with RESUME signed by the same key, and the slot goes on where
//! the server kept it (or, when it kept nothing, the content is asked for
//! again). Frames already played are not played twice.

use super::{
    Assembler, ClientOptions, Pacing, Session, Watch, accept_groups_of, dial, quic::CloseCode,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// How often [`Watch::silence`] looks at the connection's counters.
const SILENCE_CHECK: Duration = Duration::from_millis(250);

/// How a reconnect went on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnected {
    /// The server kept the session: same slot, same statistics.
    Resumed,
    /// Nothing was kept (too late, another server, restarted): a new
    /// session watches the same content.
    NewSession,
}

impl Watch {
    /// Resolves once nothing at all (not even the acknowledgement of a
    /// keep-alive, sent every second) has come from the server for `limit`.
    pub fn silence(&self, limit: Duration) -> impl Future<Output = ()> + Send + use<> {
        let conn = self.session.conn.clone();
        async move {
            let mut seen = conn.stats().udp_rx.datagrams;
            let mut since = Instant::now();
            loop {
                tokio::time::sleep(SILENCE_CHECK).await;
                let now = conn.stats().udp_rx.datagrams;
                if now != seen {
                    (seen, since) = (now, Instant::now());
                } else if since.elapsed() >= limit {
                    return;
                }
            }
        }
    }

    /// Gives up on the current connection (closed with ABANDONED), so a
    /// server that can still hear it keeps the session for a resume.
    pub fn abandon_connection(&self) {
        let code = CloseCode::Abandoned.code().into();
        self.session.conn.close(code, b"ABANDONED");
    }

    /// The connection ended in a way worth reconnecting for: timed out,
    /// reset, the server shutting down, or closed by the peer with an error
    /// that is not about this session (not a refusal, a revocation, broken
    /// framing, or the session having moved to a newer connection).
    pub fn lost(&self) -> bool {
        use quinn::ConnectionError as E;
        match self.session.conn.close_reason() {
            Some(E::TimedOut | E::Reset | E::ConnectionClosed(_)) => true,
            Some(E::ApplicationClosed(close)) => {
                let final_codes = [
                    CloseCode::ProtocolViolation,
                    CloseCode::SessionRefused,
                    CloseCode::WrongProtocol,
                    CloseCode::AccessRevoked,
                    CloseCode::SessionMoved,
                    CloseCode::NoError,
                ];
                !final_codes
                    .iter()
                    .any(|code| close.error_code == code.code().into())
            }
            _ => false,
        }
    }

    /// Connects to `addr` again and asks for this session back; `options`
    /// must carry the same key (the session id is the key's id). On
    /// success the watch goes on from the new connection: the server's
    /// newest group for a live content (frames already played skipped), or
    /// for a VoD the group before where it had got to.
    pub async fn reconnect(
        &mut self,
        addr: SocketAddr,
        mut options: ClientOptions,
    ) -> anyhow::Result<Reconnected> {
        options.resume = true;
        let verify = self.session.verify_signatures;
        let (endpoint, conn) = dial(addr, &options).await?;
        let (accept, groups) = accept_groups_of(&conn);
        let mut session = match Session::open(endpoint, conn, options).await {
            Ok(session) => session,
            Err(err) => {
                accept.abort();
                return Err(err);
            }
        };
        let how = match self.take_back(&mut session).await {
            Ok(how) => how,
            Err(err) => {
                accept.abort();
                return Err(err);
            }
        };
        session.verify_signatures = verify;
        let old = std::mem::replace(&mut self.session, session);
        old.conn
            .close(CloseCode::NoError.code().into(), b"reconnected");
        self.accept.abort();
        self.accept = accept;
        self.groups = groups;
        let pacing = match self.rendition {
            Some(_) => Pacing::Vod,
            None => Pacing::Live,
        };
        self.assembler = Assembler::new(pacing);
        if pacing == Pacing::Live {
            self.skip_through = self.last_seq;
        }
        self.gap = true;
        self.end = None;
        self.draining = false;
        Ok(how)
    }

    /// Waits for the OPEN reply; when the slot was not kept, adds the
    /// content again.
    async fn take_back(&mut self, session: &mut Session) -> anyhow::Result<Reconnected> {
        session.opened().await?;
        if session
            .resumed
            .as_ref()
            .is_some_and(|slots| slots.contains(&self.content_id))
        {
            return Ok(Reconnected::Resumed);
        }
        let added = session.add_content(&self.request).await?;
        if let Some(grant) = added.info.as_ref().and_then(|info| info.key.as_ref()) {
            self.unsealer.add_key(grant)?;
        }
        self.content_id = added.content_id;
        self.rendition = added.rendition;
        self.route = added.route;
        if added.info.is_some() {
            self.info = added.info;
        }
        Ok(Reconnected::NewSession)
    }
}
