//! A player's side of ENCRYPTED contents (sans-IO): the content key comes
//! in the CONTENT_UPDATE of the session's control stream (again, with the
//! next epoch, when the content's key rotates); SEALED frames are opened
//! with the key of their epoch after their signature was checked.

use anyhow::{anyhow, bail};
use avrs_crypto::{ContentKey, FramePlace, OpenError};

use avrs_proto::Guuid;
use avrs_proto::avrs::quic::{ContentInfo, ContentKeyGrant, FrameFlags, FrameHeader, split_sealed};
use bytes::Bytes;
use std::collections::BTreeMap;

/// Epochs a session keeps: the newest and the ones whose frames may still
/// be in flight.
const KEPT_EPOCHS: usize = 3;

/// The keys a session was given for one content.
#[derive(Debug, Default)]
pub struct Unsealer {
    content: Option<Guuid>,
    /// Newest last.
    keys: Vec<ContentKey>,
    /// Frames opened, per key epoch.
    pub opened: BTreeMap<u32, u64>,
}

impl Unsealer {
    /// From the control stream's CONTENT_UPDATE (the only place a key may
    /// come from; group streams never carry one).
    pub fn from_info(info: Option<&ContentInfo>) -> anyhow::Result<Self> {
        let Some(info) = info else {
            return Ok(Self::default());
        };
        let mut unsealer = Self {
            content: info.origin.as_ref().map(|o| o.content),
            ..Self::default()
        };
        if let Some(grant) = &info.key {
            unsealer.add_key(grant)?;
        }
        Ok(unsealer)
    }

    /// A key from a later CONTENT_UPDATE of the control stream (the
    /// content's key rotated). An epoch older than the newest is ignored.
    pub fn add_key(&mut self, grant: &ContentKeyGrant) -> anyhow::Result<()> {
        if self.keys.last().is_some_and(|k| k.epoch() >= grant.epoch) {
            return Ok(());
        }
        self.keys
            .push(ContentKey::from_bytes(grant.epoch, &grant.key)?);
        if self.keys.len() > KEPT_EPOCHS {
            self.keys.remove(0);
        }
        Ok(())
    }

    /// The newest key epoch held.
    pub fn epoch(&self) -> Option<u32> {
        self.keys.last().map(ContentKey::epoch)
    }

    /// A SEALED frame of an epoch newer than every key held (its key has
    /// not been handled yet). False without any key: `open` says why.
    pub fn needs_newer_key(&self, header: FrameHeader, data: &[u8]) -> bool {
        if !header.flags.contains(FrameFlags::SEALED) {
            return false;
        }
        match (self.epoch(), split_sealed(data)) {
            (Some(newest), Ok((epoch, _))) => epoch > newest,
            _ => false,
        }
    }

    /// The frame's clear bytes: `data` itself when not SEALED.
    pub fn open(
        &mut self,
        seq: u64,
        flow: u8,
        header: FrameHeader,
        data: Bytes,
    ) -> anyhow::Result<Result<Bytes, OpenError>> {
        if !header.flags.contains(FrameFlags::SEALED) {
            return Ok(Ok(data));
        }
        let Some(content) = self.content.filter(|_| !self.keys.is_empty()) else {
            bail!("the content is encrypted and this session was given no key");
        };
        let (epoch, sealed) = split_sealed(&data).map_err(|e| anyhow!("sealed frame: {e}"))?;
        let Some(key) = self.keys.iter().find(|k| k.epoch() == epoch) else {
            bail!(
                "sealed frame of key epoch {epoch}; this session holds epochs {:?}",
                self.keys.iter().map(ContentKey::epoch).collect::<Vec<_>>()
            );
        };
        let mut clean = header;
        clean.flags -= FrameFlags::SIGNED;
        let place = FramePlace {
            content,
            seq,
            flow,
            header: clean,
        };
        let opened = key.open(&place, sealed).map(Bytes::from);
        if opened.is_ok() {
            *self.opened.entry(epoch).or_default() += 1;
        }
        Ok(opened)
    }
}
