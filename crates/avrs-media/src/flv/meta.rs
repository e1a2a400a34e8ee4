//! Script tags: writing `onMetaData`, and reading any script tag.

use crate::codec::{AudioSpecificConfig, AvcDecoderConfig};
use crate::error::{MediaError, Result};
use crate::flv::amf0::{
    self, Amf0Value, write_bool, write_ecma_array_start, write_number, write_object_end,
    write_property_key, write_string,
};
use crate::flv::audio::SOUND_FORMAT_AAC;
use crate::flv::video::CODEC_ID_AVC;
use crate::frame::{AudioConfig, VideoConfig};

/// The `onMetaData` fields players use to set up before the first frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OnMetaData {
    /// Width, height and codec id 7 when there is video.
    pub video: Option<(u32, u32)>,
    /// Frames per second, when known.
    pub framerate: Option<f64>,
    /// Output sample rate and stereo flag when there is audio (codec id 10).
    pub audio: Option<(u32, bool)>,
}

impl OnMetaData {
    /// Fills the fields from codec configurations. The frame rate comes from
    /// the SPS timing information when it has some; HE-AAC reports its
    /// output (SBR) sample rate.
    pub fn from_configs(video: Option<&VideoConfig>, audio: Option<&AudioConfig>) -> Self {
        let framerate = video
            .and_then(|v| AvcDecoderConfig::parse(&v.avcc).ok())
            .and_then(|record| record.sps_info().ok())
            .and_then(|info| info.frame_rate);
        let audio = audio.map(|a| {
            let rate = AudioSpecificConfig::parse(&a.asc)
                .ok()
                .and_then(|asc| asc.extension.map(|e| e.sample_rate))
                .unwrap_or(a.sample_rate);
            (rate, a.channels > 1)
        });
        Self {
            video: video.map(|v| (v.width, v.height)),
            framerate,
            audio,
        }
    }

    /// The script tag data: the string `onMetaData` and an ECMA array.
    pub fn to_payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        write_string("onMetaData", &mut out);
        let count = usize::from(self.video.is_some()) * 3
            + usize::from(self.framerate.is_some())
            + usize::from(self.audio.is_some()) * 3;
        write_ecma_array_start(count, &mut out);
        let number = |key: &str, n: f64, out: &mut Vec<u8>| {
            write_property_key(key, out);
            write_number(n, out);
        };
        if let Some((width, height)) = self.video {
            number("width", f64::from(width), &mut out);
            number("height", f64::from(height), &mut out);
            number("videocodecid", f64::from(CODEC_ID_AVC), &mut out);
        }
        if let Some(fps) = self.framerate {
            number("framerate", fps, &mut out);
        }
        if let Some((rate, stereo)) = self.audio {
            number("audiocodecid", f64::from(SOUND_FORMAT_AAC), &mut out);
            number("audiosamplerate", f64::from(rate), &mut out);
            write_property_key("stereo", &mut out);
            write_bool(stereo, &mut out);
        }
        write_object_end(&mut out);
        out
    }
}

/// A script tag: a handler name (such as `onMetaData`) and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptTag {
    pub name: String,
    pub args: Vec<Amf0Value>,
}

impl ScriptTag {
    /// Parses script tag data. RTMP publishers often wrap metadata in
    /// `@setDataFrame`: then the name is that, and the first argument is
    /// the string `onMetaData`.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut values = amf0::read_values(data)?.into_iter();
        let name = match values.next() {
            Some(Amf0Value::String(name)) => name,
            _ => {
                return Err(MediaError::Malformed {
                    what: "FLV script tag",
                    reason: "does not start with a string".into(),
                });
            }
        };
        Ok(Self {
            name,
            args: values.collect(),
        })
    }

    /// The metadata object (ECMA array or object) of an `onMetaData` tag,
    /// with or without the `@setDataFrame` wrapper.
    pub fn metadata(&self) -> Option<&Amf0Value> {
        let args = match self.name.as_str() {
            "onMetaData" => &self.args[..],
            "@setDataFrame" if self.args.first()?.as_str() == Some("onMetaData") => &self.args[1..],
            _ => return None,
        };
        args.iter()
            .find(|v| matches!(v, Amf0Value::EcmaArray(_) | Amf0Value::Object(_)))
    }
}
