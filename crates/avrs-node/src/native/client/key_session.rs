//! The key of an ENCRYPTED content played through a relay. A relay never
//! holds the key: it forwards the origin's sealed frames and tells the
//! player where the origin is (`key_from=` in its CONTENT_ADD reply). The
//! player opens a second, key-only session there, authorised with its own
//! token: the origin answers with the key on that session's control stream,
//! and with every later key when the content's key rotates. No frame
//! travels on it.

use super::{ClientEvent, ClientOptions, ContentRequest, Session, Unsealer};
use crate::native::tls::ServerTrust;
use anyhow::{Context as _, bail};
use std::net::SocketAddr;
use std::time::Duration;

/// What a key session needs from the player's own options.
#[derive(Debug, Clone, Default)]
pub(super) struct KeyOptions {
    pub token: Option<String>,
    pub server_trust: ServerTrust,
    pub connect_timeout: Duration,
}

impl KeyOptions {
    pub(super) fn of(options: &ClientOptions) -> Self {
        Self {
            token: options.token.clone(),
            server_trust: options.server_trust.clone(),
            connect_timeout: options.connect_timeout,
        }
    }
}

/// A key-only session at a content's origin.
#[derive(Debug)]
pub(super) struct KeySession {
    pub session: Session,
}

impl KeySession {
    /// Asks the origin at `addr` for `name`'s key and gives it to
    /// `unsealer`.
    pub async fn open(
        addr: SocketAddr,
        options: &KeyOptions,
        name: &str,
        unsealer: &mut Unsealer,
    ) -> anyhow::Result<Self> {
        let client = ClientOptions {
            token: options.token.clone(),
            // The origin is another server: pinned under its own address.
            server_trust: options.server_trust.for_server(&addr.to_string()),
            server_name: addr.ip().to_string(),
            connect_timeout: options.connect_timeout,
            ..ClientOptions::default()
        };
        let mut session = Session::connect(addr, client)
            .await
            .with_context(|| format!("the content key from its origin {addr}"))?;
        let request = ContentRequest {
            key_only: true,
            ..ContentRequest::watch(name)
        };
        let added = session
            .add_content(&request)
            .await
            .with_context(|| format!("the content key from its origin {addr}"))?;
        let Some(grant) = added.info.as_ref().and_then(|info| info.key.as_ref()) else {
            bail!("the origin {addr} gave no key for {name}");
        };
        unsealer.add_key(grant)?;
        Ok(Self { session })
    }

    /// A message of the key session's control stream: a rotated key goes
    /// to `unsealer`; anything else is ignored.
    pub fn on_event(&self, event: ClientEvent, unsealer: &mut Unsealer) -> anyhow::Result<()> {
        if let ClientEvent::Info(info) = event
            && let Some(grant) = &info.key
        {
            unsealer.add_key(grant)?;
        }
        Ok(())
    }
}
