//! A player's side of ENCRYPTED contents (sans-IO): the content key comes
//! in the CONTENT_UPDATE of the session's control stream; SEALED frames are
//! opened with it after their signature was checked.

use anyhow::{anyhow, bail};
use avrs_crypto::{ContentKey, FramePlace, OpenError};

use avrs_proto::Guuid;
use avrs_proto::avrs::quic::{ContentInfo, FrameFlags, FrameHeader, split_sealed};
use bytes::Bytes;

/// The keys a session was given for one content.
#[derive(Debug, Default)]
pub struct Unsealer {
    content: Option<Guuid>,
    key: Option<ContentKey>,
}

impl Unsealer {
    /// From the control stream's CONTENT_UPDATE (the only place a key may
    /// come from; group streams never carry one).
    pub fn from_info(info: Option<&ContentInfo>) -> anyhow::Result<Self> {
        let Some(info) = info else {
            return Ok(Self::default());
        };
        let key = match &info.key {
            Some(grant) => Some(ContentKey::from_bytes(grant.epoch, &grant.key)?),
            None => None,
        };
        Ok(Self {
            content: info.origin.as_ref().map(|o| o.content),
            key,
        })
    }

    /// The frame's clear bytes: `data` itself when not SEALED.
    pub fn open(
        &self,
        seq: u64,
        flow: u8,
        header: FrameHeader,
        data: Bytes,
    ) -> anyhow::Result<Result<Bytes, OpenError>> {
        if !header.flags.contains(FrameFlags::SEALED) {
            return Ok(Ok(data));
        }
        let (Some(key), Some(content)) = (&self.key, self.content) else {
            bail!("the content is encrypted and this session was given no key");
        };
        let (epoch, sealed) = split_sealed(&data).map_err(|e| anyhow!("sealed frame: {e}"))?;
        if epoch != key.epoch() {
            bail!(
                "sealed frame of key epoch {epoch}; this session holds epoch {}",
                key.epoch()
            );
        }
        let mut clean = header;
        clean.flags -= FrameFlags::SIGNED;
        let place = FramePlace {
            content,
            seq,
            flow,
            header: clean,
        };
        Ok(key.open(&place, sealed).map(Bytes::from))
    }
}
