//! `avrs publish`: an RTMP publisher for tests and benchmarks.
//!
//! `--synthetic` loops a built-in H.264/AAC clip at real-time pace and puts
//! a clock stamp (see [`crate::bench::sei`]) in every video frame, taken
//! the moment the frame is written: the source adds no latency of its own,
//! so what a viewer measures is the server's. `FILE.flv` publishes a file
//! as it is (optionally looped and stamped).

mod source;

use crate::bench::rtmp_client::{RtmpClient, rtmp_error};
use crate::bench::sei::unix_micros;
use crate::bench::url::RtmpUrl;
use anyhow::{Context, Result, anyhow, bail};
use rml_rtmp::sessions::{ClientSessionEvent, PublishRequestType, StreamMetadata};
use rml_rtmp::time::RtmpTimestamp;
use source::{BitrateClass, Schedule, Source};
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// Flags of `avrs publish`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  avrs publish --synthetic rtmp://127.0.0.1:1935/live/b\n  \
                        avrs publish --loop clip.flv rtmp://127.0.0.1:1935/live/b"
)]
pub struct PublishArgs {
    /// Publish the built-in test clip, looped, with a clock stamp in every
    /// video frame (what `avrs bench` measures latency and losses with).
    #[arg(long)]
    pub synthetic: bool,
    /// `rtmp://HOST:PORT/APP/NAME`, preceded by an FLV file unless
    /// --synthetic.
    #[arg(required = true, num_args = 1..=2, value_name = "[FILE.flv] URL")]
    pub inputs: Vec<String>,
    /// Stop after this many seconds; by default run until Ctrl-C (or, for a
    /// file played once, until its end).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Bit rate of the synthetic clip.
    #[arg(long, value_enum, default_value = "high")]
    pub bitrate_class: BitrateClass,
    /// Loop the file (the synthetic clip always loops).
    #[arg(long = "loop")]
    pub looping: bool,
    /// Stamp the file's H.264 frames too (the synthetic clip always is).
    #[arg(long)]
    pub stamp: bool,
}

/// What to publish, decided from the flags.
struct Plan {
    url: RtmpUrl,
    source: Source,
    looping: bool,
    stamp: bool,
    duration: Option<Duration>,
    what: String,
}

impl Plan {
    fn from_args(args: &PublishArgs) -> Result<Self> {
        let duration = match args.duration {
            Some(secs) if secs.is_finite() && secs > 0.0 => Some(Duration::from_secs_f64(secs)),
            Some(_) => bail!("--duration must be a positive number of seconds"),
            None => None,
        };
        match (args.synthetic, args.inputs.as_slice()) {
            (true, [url]) => Ok(Self {
                url: RtmpUrl::parse(url)?,
                source: Source::parse(args.bitrate_class.fixture())?,
                looping: true,
                stamp: true,
                duration,
                what: format!("synthetic clip ({:?} bit rate)", args.bitrate_class),
            }),
            (true, _) => bail!("with --synthetic give only the rtmp:// URL"),
            (false, [file, url]) => {
                let bytes = std::fs::read(file).with_context(|| format!("cannot read {file}"))?;
                Ok(Self {
                    url: RtmpUrl::parse(url)?,
                    source: Source::parse(&bytes).with_context(|| file.clone())?,
                    looping: args.looping,
                    stamp: args.stamp,
                    duration,
                    what: file.clone(),
                })
            }
            (false, _) => bail!("give FILE.flv and an rtmp:// URL, or --synthetic and a URL"),
        }
    }
}

/// The low bit rate clip, parsed, for other modules' tests.
#[cfg(test)]
pub(crate) fn source_for_tests() -> Source {
    Source::parse(BitrateClass::Low.fixture()).expect("the fixture parses")
}

pub fn run(args: PublishArgs) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    // One connection: a single thread is plenty and keeps the machine free.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(publish(plan))
}

async fn publish(plan: Plan) -> Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut client = RtmpClient::connect(&plan.url, &mut buf).await?;
    let request = client
        .session()
        .request_publishing(plan.url.key.clone(), PublishRequestType::Live)
        .map_err(rtmp_error)?;
    client.absorb(vec![request]);
    client.flush().await?;
    client
        .wait_for(&mut buf, |event| match event {
            ClientSessionEvent::PublishRequestAccepted => Some(Ok(())),
            ClientSessionEvent::UnhandleableOnStatusCode { code } if code.contains("Publish") => {
                Some(Err(anyhow!("publish refused: {code}")))
            }
            _ => None,
        })
        .await?;
    eprintln!(
        "avrs publish: publishing {} to rtmp://{}/{}/{}",
        plan.what, plan.url.authority, plan.url.app, plan.url.key
    );
    send_head(&mut client, &plan.source)?;
    client.flush().await?;

    let start = Instant::now();
    let stop_at = plan.duration.map(|d| start + d);
    let mut schedule = Schedule::new(&plan.source, plan.looping);
    let (mut frames, mut bytes) = (0u64, 0u64);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    'frames: while let Some((due, frame)) = schedule.next_due() {
        let at = start + Duration::from_millis(due.at_ms);
        if stop_at.is_some_and(|stop| at >= stop) {
            break;
        }
        // Until the frame is due, answer the server (acknowledgements,
        // pings) so it never waits on us.
        loop {
            tokio::select! {
                _ = sleep_until(at) => break,
                _ = &mut ctrl_c => break 'frames,
                read = client.read(&mut buf) => {
                    let n = read?;
                    if n == 0 {
                        bail!("the server closed the connection");
                    }
                    client.feed(&buf[..n])?;
                    client.flush().await?;
                }
            }
        }
        let payload = if plan.stamp {
            schedule.stamp(frame, unix_micros())?
        } else {
            due.payload
        };
        bytes += payload.len() as u64;
        let timestamp = RtmpTimestamp::new(due.at_ms as u32);
        let session = client.session();
        let packet = if due.kind == avrs_media::flv::TagType::Video {
            session.publish_video_data(payload, timestamp, false)
        } else {
            session.publish_audio_data(payload, timestamp, false)
        };
        client.absorb(vec![packet.map_err(rtmp_error)?]);
        client.flush().await?;
        frames += 1;
    }
    let results = client.session().stop_publishing().map_err(rtmp_error)?;
    client.absorb(results);
    client.flush().await?;
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "avrs publish: sent {frames} frames, {:.2} Mbit/s over {seconds:.1} s",
        bytes as f64 * 8.0 / seconds.max(1e-3) / 1e6
    );
    Ok(())
}

/// Metadata and the sequence headers, before any frame.
fn send_head(client: &mut RtmpClient, source: &Source) -> Result<()> {
    let mut metadata = StreamMetadata::new();
    if let Some(video) = &source.video_config {
        metadata.video_width = Some(video.width);
        metadata.video_height = Some(video.height);
        metadata.video_codec_id = Some(u32::from(avrs_media::flv::CODEC_ID_AVC));
        metadata.video_frame_rate = source.frame_rate();
    }
    if let Some(audio) = &source.audio_config {
        metadata.audio_codec_id = Some(u32::from(avrs_media::flv::SOUND_FORMAT_AAC));
        metadata.audio_sample_rate = Some(audio.sample_rate);
        metadata.audio_channels = Some(u32::from(audio.channels));
        metadata.audio_is_stereo = Some(audio.channels > 1);
    }
    metadata.encoder = Some("avrs publish".into());
    let zero = RtmpTimestamp::new(0);
    let session = client.session();
    let mut results = vec![session.publish_metadata(&metadata).map_err(rtmp_error)?];
    if let Some(header) = &source.video_header {
        let packet = session.publish_video_data(header.clone(), zero, false);
        results.push(packet.map_err(rtmp_error)?);
    }
    if let Some(header) = &source.audio_header {
        let packet = session.publish_audio_data(header.clone(), zero, false);
        results.push(packet.map_err(rtmp_error)?);
    }
    client.absorb(results);
    Ok(())
}
