//! Codec configurations and elementary-stream framing.
//!
//! - H.264: [`AvcDecoderConfig`] (the `AVCDecoderConfigurationRecord`),
//!   [`parse_sps`], and Annex-B ⇄ AVCC conversion in [`nal`].
//! - AAC: [`AudioSpecificConfig`] and ADTS headers ([`AdtsHeader`],
//!   [`AdtsWriter`]).
//!
//! Every parser takes a `&[u8]`, checks lengths before reading and returns a
//! [`MediaError`](crate::MediaError) on bad input; none panics.

mod adts;
mod asc;
mod avcc;
pub(crate) mod bits;
pub(crate) mod cursor;
pub mod nal;
mod sps;

pub use adts::{ADTS_HEADER_LEN, ADTS_HEADER_LEN_CRC, AdtsHeader, AdtsWriter, MAX_ADTS_FRAME_LEN};
pub use asc::{
    AudioSpecificConfig, OBJECT_TYPE_PS, OBJECT_TYPE_SBR, SAMPLE_RATES, SbrExtension,
    audio_config_from_asc, audio_config_from_parts, channel_count, sample_rate_index,
};
pub use avcc::{
    AvcDecoderConfig, HighProfileExtension, video_config_from_avcc,
    video_config_from_parameter_sets,
};
pub use sps::{MAX_SPS_LEN, SpsInfo, parse_sps};
