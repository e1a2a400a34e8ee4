//! Between the media model (frames, codec configurations) and the native
//! wire messages (`'c'` frames, CONTENT_UPDATE), both directions.

use avrs_core::live::{LiveFrame, TrackConfigs};
use avrs_media::codec::{audio_config_from_asc, video_config_from_avcc};
use avrs_media::{MediaFrame, TrackKind};
use avrs_proto::avrs::quic::{
    self, AUDIO_FLOW, ContentInfo, ContentOrigin, FrameFlags, FrameHeader, LIVE_FLOWS, TrackInfo,
    VIDEO_FLOW,
};
use avrs_proto::avrs::{ContentHeader, Flows, SubType};
use bytes::Bytes;

/// The flow a track travels on.
pub fn flow_of(track: TrackKind) -> u8 {
    match track {
        TrackKind::Video => VIDEO_FLOW,
        TrackKind::Audio => AUDIO_FLOW,
    }
}

/// The CONTENT_UPDATE data describing `configs` (and, when the frames are
/// signed, who signs them).
pub fn content_info(
    content_id: u32,
    configs: &TrackConfigs,
    origin: Option<ContentOrigin>,
) -> ContentInfo {
    let mut tracks = Vec::with_capacity(2);
    if let Some(video) = &configs.video {
        tracks.push(TrackInfo {
            flow_id: VIDEO_FLOW,
            codec: video.codec.clone(),
            config: video.avcc.to_vec(),
        });
    }
    if let Some(audio) = &configs.audio {
        tracks.push(TrackInfo {
            flow_id: AUDIO_FLOW,
            codec: audio.codec.clone(),
            config: audio.asc.to_vec(),
        });
    }
    ContentInfo {
        content_id,
        flows: Flows::new(LIVE_FLOWS).expect("\"va\" is a valid flows string"),
        tracks,
        origin,
        key: None,
    }
}

/// A whole CONTENT_UPDATE message (channel header included) at position `seq`.
pub fn info_message(
    seq: u64,
    content_id: u32,
    configs: &TrackConfigs,
    origin: Option<ContentOrigin>,
) -> Bytes {
    let data = content_info(content_id, configs, origin)
        .encode()
        .expect("configurations from the fan-out always encode");
    Bytes::from(quic::encode_message(SubType::Session, seq, &data))
}

/// Decoder configurations from a CONTENT_UPDATE: the video flow must carry
/// H.264 (`avc1`/`avc3`), the audio flow AAC (`mp4a`).
pub fn track_configs(info: &ContentInfo) -> anyhow::Result<TrackConfigs> {
    let mut configs = TrackConfigs::default();
    if let Some(track) = info.track(VIDEO_FLOW) {
        anyhow::ensure!(
            track.codec.starts_with("avc1") || track.codec.starts_with("avc3"),
            "video codec {} is not H.264",
            track.codec
        );
        configs.video = Some(video_config_from_avcc(&track.config)?);
    }
    if let Some(track) = info.track(AUDIO_FLOW) {
        anyhow::ensure!(
            track.codec.starts_with("mp4a"),
            "audio codec {} is not AAC",
            track.codec
        );
        configs.audio = Some(audio_config_from_asc(&track.config)?);
    }
    Ok(configs)
}

/// The position and header `frame` travels with (SIGNED is added where the
/// signature is): a relayed frame's as its origin signed them.
pub fn frame_place(frame: &LiveFrame) -> (u64, FrameHeader) {
    match &frame.upstream {
        Some(upstream) => {
            let mut header = header_of(&frame.media, upstream.discontinuity);
            header.dts = upstream.dts;
            header.pts = upstream.pts;
            (upstream.seq, header)
        }
        None => (frame.seq, header_of(&frame.media, frame.discontinuity)),
    }
}

/// The frame header of a frame in the media model.
pub fn header_of(media: &MediaFrame, discontinuity: bool) -> FrameHeader {
    let mut flags = FrameFlags::empty();
    flags.set(FrameFlags::KEYFRAME, media.keyframe);
    flags.set(FrameFlags::DISCONTINUITY, discontinuity);
    FrameHeader {
        flags,
        dts: media.dts,
        pts: media.pts,
    }
}

/// How a live frame travels to one slot: its bytes (sealed for an
/// ENCRYPTED content) and its signature (empty: unsigned).
#[derive(Debug, Clone, Copy)]
pub struct Wire<'a> {
    pub payload: &'a Bytes,
    pub signature: &'a [u8],
    pub sealed: bool,
}

/// The message prefix of `frame` for `content_id` as `wire` says (the
/// payload follows).
pub fn frame_prefix(frame: &LiveFrame, content_id: u32, wire: Wire<'_>) -> Bytes {
    let (seq, mut header) = frame_place(frame);
    header.flags.set(FrameFlags::SEALED, wire.sealed);
    let content = ContentHeader::new(flow_of(frame.media.track), content_id);
    prefix_with(seq, content, header, wire.signature, wire.payload.len())
}

/// The prefix of a frame of the media model at position `seq` (VoD frames:
/// never sealed), the frame bytes following.
pub fn prefix_of(
    seq: u64,
    media: &MediaFrame,
    discontinuity: bool,
    content_id: u32,
    signature: &[u8],
) -> Bytes {
    let content = ContentHeader::new(flow_of(media.track), content_id);
    let header = header_of(media, discontinuity);
    prefix_with(seq, content, header, signature, media.data.len())
}

fn prefix_with(
    seq: u64,
    content: ContentHeader,
    header: FrameHeader,
    signature: &[u8],
    len: usize,
) -> Bytes {
    if !signature.is_empty()
        && let Ok(prefix) = quic::signed_frame_prefix(seq, content, header, signature, len)
    {
        return Bytes::from(prefix);
    }
    Bytes::copy_from_slice(&quic::frame_prefix(seq, content, header, len))
}

/// The whole frame message for `content_id`: made once per frame and shared
/// by every native viewer whose content id is the first one (nearly all).
pub fn frame_message(frame: &LiveFrame, content_id: u32, wire: Wire<'_>) -> Bytes {
    let prefix = frame_prefix(frame, content_id, wire);
    let mut out = Vec::with_capacity(prefix.len() + wire.payload.len());
    out.extend_from_slice(&prefix);
    out.extend_from_slice(wire.payload);
    Bytes::from(out)
}

/// A received frame back in the media model.
pub fn media_frame(flow_id: u8, header: FrameHeader, data: Bytes) -> anyhow::Result<MediaFrame> {
    let track = match flow_id {
        VIDEO_FLOW => TrackKind::Video,
        AUDIO_FLOW => TrackKind::Audio,
        other => anyhow::bail!("frame on unknown flow {other}"),
    };
    Ok(MediaFrame {
        track,
        dts: header.dts,
        pts: header.pts,
        keyframe: header.flags.contains(FrameFlags::KEYFRAME),
        data,
    })
}
