//! Signing a content's frames for native delivery.
//!
//! The signature covers the content's GUUID and the frame (see
//! `avrs_proto::avrs::quic::signing_message`), never the per-session slot,
//! so it is made once per frame by the first viewer that needs it, cached on
//! the frame, and shared by every other viewer and relay.

use avrs_core::live::{Encoding, LiveFrame};
use avrs_crypto::{FramePlace, SigningKey, sign_frame};
use avrs_proto::Guuid;
use avrs_proto::avrs::quic::{ContentKeyGrant, ContentOrigin, FrameFlags, sealed_payload};
use bytes::Bytes;
use std::sync::{Arc, OnceLock};

use super::content_keys::SealingKey;
use super::media::{flow_of, header_of};
use avrs_media::MediaFrame;

/// Signs the frames of one content with the node's content key.
#[derive(Debug, Clone)]
pub struct ContentSigner {
    key: Arc<SigningKey>,
    content: Guuid,
    /// What CONTENT_UPDATE says about the signer, made once.
    origin: Arc<ContentOrigin>,
    /// ENCRYPTED contents: the key their frames are sealed with (it
    /// changes when the content's key rotates).
    sealer: Option<Arc<SealingKey>>,
}

impl ContentSigner {
    pub fn new(key: Arc<SigningKey>, content: Guuid) -> Self {
        let algorithm = key.algorithm().sign_type_code();
        let origin = Arc::new(ContentOrigin {
            content,
            algorithm: u16::try_from(algorithm).expect("avrs sign codes fit 16 bits"),
            public_key: key.public_key().as_bytes().to_vec(),
        });
        Self {
            key,
            content,
            origin,
            sealer: None,
        }
    }

    /// Frames are sealed with `key` before they are signed (an ENCRYPTED
    /// content). Every viewer of a content must use the same key: take it
    /// from [`super::content_keys::ContentKeys`].
    pub fn sealing(mut self, key: Arc<SealingKey>) -> Self {
        self.sealer = Some(key);
        self
    }

    /// The key an authorised session is given (control stream only).
    pub fn key_grant(&self) -> Option<ContentKeyGrant> {
        self.sealer.as_ref().map(|sealing| {
            let key = sealing.current();
            ContentKeyGrant {
                epoch: key.epoch(),
                key: *key.secret_bytes(),
            }
        })
    }

    /// Whether frames travel sealed.
    pub fn seals(&self) -> bool {
        self.sealer.is_some()
    }

    /// The bytes a live frame travels as: sealed once (cached on the frame)
    /// for an ENCRYPTED content, the frame itself otherwise.
    pub fn payload(&self, frame: &LiveFrame) -> Bytes {
        let Some(sealer) = &self.sealer else {
            return frame.media.data.clone();
        };
        frame.encoded(Encoding::Sealed, |frame| {
            let place = self.place(frame.seq, &frame.media, frame.discontinuity);
            let key = sealer.current();
            match key.seal(&place, &frame.media.data) {
                Ok(sealed) => Bytes::from(sealed_payload(key.epoch(), &sealed)),
                Err(err) => {
                    // Never fall back to clear bytes: send nothing useful.
                    tracing::error!(%err, seq = frame.seq, "cannot seal a frame");
                    Bytes::new()
                }
            }
        })
    }

    fn place(&self, seq: u64, media: &MediaFrame, discontinuity: bool) -> FramePlace {
        let mut header = header_of(media, discontinuity);
        header.flags.set(FrameFlags::SEALED, self.sealer.is_some());
        FramePlace {
            content: self.content,
            seq,
            flow: flow_of(media.track),
            header,
        }
    }

    /// What a CONTENT_UPDATE says about the signer.
    pub fn origin(&self) -> ContentOrigin {
        (*self.origin).clone()
    }

    /// [`Self::origin`], shared (no copy per frame).
    pub fn shared_origin(&self) -> &Arc<ContentOrigin> {
        &self.origin
    }

    /// The frame's signature, made the first time any viewer asks. Empty
    /// only if the crypto library fails; the frame then goes out unsigned
    /// and viewers drop it as corrupted.
    pub fn signature(&self, frame: &LiveFrame) -> Bytes {
        frame.encoded(Encoding::Signature, |frame| {
            let place = self.place(frame.seq, &frame.media, frame.discontinuity);
            self.sign_bytes(&place, &self.payload(frame))
        })
    }

    /// Signs a frame of the media model at position `seq` (VoD frames,
    /// whose positions are per session, are signed per session).
    pub fn sign(&self, seq: u64, media: &MediaFrame, discontinuity: bool) -> Bytes {
        let place = FramePlace {
            content: self.content,
            seq,
            flow: flow_of(media.track),
            header: header_of(media, discontinuity),
        };
        self.sign_bytes(&place, &media.data)
    }

    fn sign_bytes(&self, place: &FramePlace, bytes: &[u8]) -> Bytes {
        if unsigned_for_benchmarks() {
            return Bytes::new();
        }
        let seq = place.seq;
        match sign_frame(&self.key, place, bytes) {
            Ok(signature) => Bytes::from(signature),
            Err(err) => {
                tracing::error!(%err, seq, "cannot sign a frame");
                Bytes::new()
            }
        }
    }
}

/// `AVRS_BENCH_UNSIGNED=1` in the node's environment: frames go out
/// unsigned, for the unprotected baseline of `docs/BENCHMARKS.md` only.
/// Nothing is downgraded for players: the content still announces its
/// signer, so a checking player drops every frame as corrupted.
fn unsigned_for_benchmarks() -> bool {
    static UNSIGNED: OnceLock<bool> = OnceLock::new();
    *UNSIGNED.get_or_init(|| {
        let unsigned = std::env::var_os("AVRS_BENCH_UNSIGNED").is_some_and(|v| v == "1");
        if unsigned {
            tracing::warn!("AVRS_BENCH_UNSIGNED=1: frames are sent unsigned (benchmarks only)");
        }
        unsigned
    })
}

#[cfg(test)]
mod tests;
