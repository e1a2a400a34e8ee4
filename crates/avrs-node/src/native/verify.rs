//! A player's check of a content's frames (sans-IO): the CONTENT_UPDATE
//! names the signer, every frame must carry that signer's signature.
//!
//! A frame that fails is dropped and counted as CONTENT_CORRUPTED; the
//! session goes on, and the player sees a gap. A signer the player does not
//! trust ends the watch (SIGN_ALIEN): nothing it sent can be believed.

use anyhow::bail;
use avrs_crypto::{FrameCheckError, FrameVerifier};
use avrs_proto::avrs::quic::{ContentInfo, FrameHeader};

/// Frames checked so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckStats {
    /// Frames whose signature verified.
    pub verified: u64,
    /// Frames dropped: altered, forged or unsigned in a signed content.
    pub corrupted: u64,
    /// Frames of a content that announced no signer (played unchecked).
    pub unchecked: u64,
}

/// Checks one watched content.
#[derive(Debug, Default)]
pub struct ContentCheck {
    /// Signer identities accepted; empty: any announced signer (the frames
    /// are still checked against it, so relays cannot alter them).
    trusted: Vec<[u8; 32]>,
    verifier: Option<FrameVerifier>,
    /// Off: every frame plays unchecked (load generators).
    disabled: bool,
    pub stats: CheckStats,
}

impl ContentCheck {
    pub fn new(trusted: Vec<[u8; 32]>) -> Self {
        Self {
            trusted,
            ..Self::default()
        }
    }

    /// Plays every frame unchecked (counted as such).
    pub fn disabled() -> Self {
        Self {
            disabled: true,
            ..Self::default()
        }
    }

    /// Takes the signer a CONTENT_UPDATE announces.
    pub fn on_info(&mut self, info: &ContentInfo) -> anyhow::Result<()> {
        if self.disabled {
            return Ok(());
        }
        match &info.origin {
            Some(origin) => {
                let verifier = FrameVerifier::new(origin, &self.trusted)
                    .map_err(|e| anyhow::anyhow!("{} ({})", e, e.retcode().name()))?;
                self.verifier = Some(verifier);
            }
            None if !self.trusted.is_empty() => {
                bail!(
                    "the content is not signed, but a trusted signer was required (SIGN_NOT_PRESENT)"
                )
            }
            None => self.verifier = None,
        }
        Ok(())
    }

    /// Whether to play this frame.
    pub fn admit(
        &mut self,
        seq: u64,
        flow: u8,
        header: FrameHeader,
        signature: Option<&[u8]>,
        frame: &[u8],
    ) -> bool {
        let Some(verifier) = &self.verifier else {
            self.stats.unchecked += 1;
            return true;
        };
        match verifier.check(seq, flow, header, signature, frame) {
            Ok(()) => {
                self.stats.verified += 1;
                true
            }
            Err(err) => {
                self.on_corrupted(&err);
                false
            }
        }
    }

    /// A signed frame that would not open with the session's key.
    pub fn on_unopenable(&mut self, err: &avrs_crypto::OpenError) {
        self.stats.corrupted += 1;
        tracing::warn!(%err, code = err.retcode().name(), "native: frame dropped");
    }

    fn on_corrupted(&mut self, err: &FrameCheckError) {
        self.stats.corrupted += 1;
        tracing::warn!(%err, code = err.retcode().name(), "native: frame dropped");
    }
}

#[cfg(test)]
mod tests;
