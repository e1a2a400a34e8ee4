//! Signing a content's frames for native delivery.
//!
//! The signature covers the content's GUUID and the frame (see
//! `avrs_proto::avrs::quic::signing_message`), never the per-session slot,
//! so it is made once per frame by the first viewer that needs it, cached on
//! the frame, and shared by every other viewer and relay.

use avrs_core::live::{Encoding, LiveFrame};
use avrs_crypto::{FramePlace, SigningKey, sign_frame};
use avrs_proto::Guuid;
use avrs_proto::avrs::quic::ContentOrigin;
use bytes::Bytes;
use std::sync::Arc;

use super::media::{flow_of, header_of};
use avrs_media::MediaFrame;

/// Signs the frames of one content with the node's content key.
#[derive(Debug, Clone)]
pub struct ContentSigner {
    key: Arc<SigningKey>,
    content: Guuid,
}

impl ContentSigner {
    pub fn new(key: Arc<SigningKey>, content: Guuid) -> Self {
        Self { key, content }
    }

    /// What a CONTENT_UPDATE says about the signer.
    pub fn origin(&self) -> ContentOrigin {
        let algorithm = self.key.algorithm().sign_type_code();
        ContentOrigin {
            content: self.content,
            algorithm: u16::try_from(algorithm).expect("avrs sign codes fit 16 bits"),
            public_key: self.key.public_key().as_bytes().to_vec(),
        }
    }

    /// The frame's signature, made the first time any viewer asks. Empty
    /// only if the crypto library fails; the frame then goes out unsigned
    /// and viewers drop it as corrupted.
    pub fn signature(&self, frame: &LiveFrame) -> Bytes {
        frame.encoded(Encoding::Signature, |frame| {
            self.sign(frame.seq, &frame.media, frame.discontinuity)
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
        match sign_frame(&self.key, &place, &media.data) {
            Ok(signature) => Bytes::from(signature),
            Err(err) => {
                tracing::error!(%err, seq, "cannot sign a frame");
                Bytes::new()
            }
        }
    }
}
