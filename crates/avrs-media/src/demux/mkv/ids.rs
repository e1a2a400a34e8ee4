//! Matroska element ids (RFC 9559), with their marker bits as written.

pub const EBML: u32 = 0x1A45_DFA3;
pub const DOC_TYPE: u32 = 0x4282;
pub const SEGMENT: u32 = 0x1853_8067;
pub const SEEK_HEAD: u32 = 0x114D_9B74;
pub const INFO: u32 = 0x1549_A966;
pub const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
pub const TRACKS: u32 = 0x1654_AE6B;
pub const TRACK_ENTRY: u32 = 0xAE;
pub const TRACK_NUMBER: u32 = 0xD7;
pub const TRACK_TYPE: u32 = 0x83;
pub const CODEC_ID: u32 = 0x86;
pub const CODEC_PRIVATE: u32 = 0x63A2;
pub const CONTENT_ENCODINGS: u32 = 0x6D80;
pub const AUDIO: u32 = 0xE1;
pub const SAMPLING_FREQUENCY: u32 = 0xB5;
pub const OUTPUT_SAMPLING_FREQUENCY: u32 = 0x78B5;
pub const CHANNELS: u32 = 0x9F;
pub const CLUSTER: u32 = 0x1F43_B675;
pub const TIMESTAMP: u32 = 0xE7;
pub const SIMPLE_BLOCK: u32 = 0xA3;
pub const BLOCK_GROUP: u32 = 0xA0;
pub const BLOCK: u32 = 0xA1;
pub const CUES: u32 = 0x1C53_BB6B;
pub const CHAPTERS: u32 = 0x1043_A770;
pub const TAGS: u32 = 0x1254_C367;
pub const ATTACHMENTS: u32 = 0x1941_A469;

/// Elements that can follow a Cluster in a Segment: one of them ends a
/// Cluster of unknown size.
pub const SEGMENT_CHILDREN: [u32; 8] = [
    CLUSTER,
    SEEK_HEAD,
    INFO,
    TRACKS,
    CUES,
    CHAPTERS,
    TAGS,
    ATTACHMENTS,
];
