//! MPEG-TS muxing (ISO/IEC 13818-1) for HLS segments and TS outputs.
//!
//! [`TsMuxer`] turns [`MediaFrame`](crate::MediaFrame)s into 188-byte
//! packets: PAT/PMT (PMT on PID 0x1000), H.264 on PID 0x100 (stream type
//! 0x1B) with the PCR, AAC in ADTS on PID 0x101 (stream type 0x0F).

mod crc;
mod muxer;
mod packet;
mod pes;
mod psi;

pub use crc::crc32_mpeg2;
pub use muxer::TsMuxer;
pub use packet::{SYNC_BYTE, TIMESTAMP_MODULUS, TS_PACKET_LEN};
pub use pes::{STREAM_ID_AUDIO, STREAM_ID_VIDEO};
pub use psi::{
    AUDIO_PID, PAT_PID, PMT_PID, STREAM_TYPE_AAC_ADTS, STREAM_TYPE_H264, VIDEO_PID, pat_section,
    pmt_section,
};
