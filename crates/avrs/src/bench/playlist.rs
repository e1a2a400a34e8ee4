//! The parts of an LL-HLS media playlist (RFC 8216bis) a viewer follows:
//! each `EXT-X-PART` with its Media Sequence Number, its index in that
//! segment and the init segment (`EXT-X-MAP`) it needs.

/// One partial segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub msn: u64,
    pub index: u64,
    pub uri: String,
    pub independent: bool,
    /// The `EXT-X-MAP` URI in force.
    pub map: Option<String>,
}

impl Part {
    /// Playlist order: by segment, then by index.
    pub fn position(&self) -> (u64, u64) {
        (self.msn, self.index)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaPlaylist {
    pub parts: Vec<Part>,
    /// `CAN-BLOCK-RELOAD=YES`: `_HLS_msn`/`_HLS_part` requests wait.
    pub can_block: bool,
    /// `EXT-X-ENDLIST`: nothing more will come.
    pub ended: bool,
    /// The position the next new part will have.
    pub next: (u64, u64),
    /// The URI of the first variant, when this is a multivariant playlist.
    pub variant: Option<String>,
}

/// Reads a media playlist; tags it does not need are skipped.
pub fn parse(text: &str) -> MediaPlaylist {
    let mut playlist = MediaPlaylist::default();
    let mut msn = 0u64;
    let mut index = 0u64;
    let mut map = None;
    let mut after_extinf = false;
    let mut after_stream_inf = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("#EXT-X-STREAM-INF:") {
            after_stream_inf = true;
        } else if after_stream_inf && !line.is_empty() && !line.starts_with('#') {
            after_stream_inf = false;
            playlist.variant.get_or_insert_with(|| line.to_owned());
        } else if let Some(value) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            msn = value.parse().unwrap_or(0);
        } else if let Some(attrs) = line.strip_prefix("#EXT-X-MAP:") {
            map = attribute(attrs, "URI").map(str::to_owned);
        } else if let Some(attrs) = line.strip_prefix("#EXT-X-PART:") {
            if let Some(uri) = attribute(attrs, "URI") {
                playlist.parts.push(Part {
                    msn,
                    index,
                    uri: uri.to_owned(),
                    independent: attribute(attrs, "INDEPENDENT") == Some("YES"),
                    map: map.clone(),
                });
                index += 1;
            }
        } else if let Some(attrs) = line.strip_prefix("#EXT-X-SERVER-CONTROL:") {
            playlist.can_block = attribute(attrs, "CAN-BLOCK-RELOAD") == Some("YES");
        } else if line.starts_with("#EXT-X-ENDLIST") {
            playlist.ended = true;
        } else if line.starts_with("#EXTINF:") {
            after_extinf = true;
        } else if after_extinf && !line.is_empty() && !line.starts_with('#') {
            // A segment's URI closes it: the next parts are the next one's.
            after_extinf = false;
            msn += 1;
            index = 0;
        }
    }
    playlist.next = (msn, index);
    playlist
}

/// An attribute's value from `NAME=VALUE,NAME="VALUE",…`, quotes removed.
fn attribute<'a>(list: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = list;
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                let next = quoted[end + 1..].strip_prefix(',').unwrap_or("");
                (&quoted[..end], next)
            }
            None => after.split_once(',').unwrap_or((after, "")),
        };
        if key.trim() == name {
            return Some(value);
        }
        rest = next;
    }
    None
}

/// `uri` relative to the playlist at `playlist_path` (`/a/b/index.m3u8`).
pub fn resolve(playlist_path: &str, uri: &str) -> String {
    if uri.starts_with('/') {
        return uri.to_owned();
    }
    let path = playlist_path.split('?').next().unwrap_or(playlist_path);
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    format!("{dir}{uri}")
}

/// The playlist request that waits for part `index` of segment `msn`.
pub fn blocking_path(playlist_path: &str, msn: u64, index: u64) -> String {
    let separator = if playlist_path.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{playlist_path}{separator}_HLS_msn={msn}&_HLS_part={index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From avrs-media's golden LL-HLS playlist.
    const LIVE: &str = "\
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.20000
#EXT-X-PART-INF:PART-TARGET=0.40000
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-MAP:URI=\"init0.mp4\"
#EXT-X-PART:DURATION=0.40000,URI=\"part0.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.40000,URI=\"part1.m4s\"
#EXTINF:0.80000,
seg7.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI=\"init1.mp4\"
#EXT-X-PART:DURATION=0.40000,URI=\"part2.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.40000,URI=\"part3.m4s\"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part4.m4s\"
";

    #[test]
    fn parts_with_positions_and_maps() {
        let playlist = parse(LIVE);
        assert!(playlist.can_block && !playlist.ended);
        assert_eq!(playlist.next, (8, 2));
        assert_eq!(playlist.variant, None);
        let seen: Vec<_> = playlist
            .parts
            .iter()
            .map(|p| {
                (
                    p.position(),
                    p.uri.as_str(),
                    p.independent,
                    p.map.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ((7, 0), "part0.m4s", true, Some("init0.mp4")),
                ((7, 1), "part1.m4s", false, Some("init0.mp4")),
                ((8, 0), "part2.m4s", true, Some("init1.mp4")),
                ((8, 1), "part3.m4s", false, Some("init1.mp4")),
            ]
        );
        assert!(parse(&format!("{LIVE}#EXT-X-ENDLIST\n")).ended);
    }

    #[test]
    fn multivariant_playlists_name_their_first_variant() {
        let text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2500000,CODECS=\"avc1.64001f\"\n\
                    index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow.m3u8\n";
        let playlist = parse(text);
        assert_eq!(playlist.variant.as_deref(), Some("index.m3u8"));
        assert!(playlist.parts.is_empty() && !playlist.can_block);
    }

    #[test]
    fn attributes_and_paths() {
        let attrs = "TYPE=PART,URI=\"a,b.m4s\",INDEPENDENT=YES";
        assert_eq!(attribute(attrs, "URI"), Some("a,b.m4s"));
        assert_eq!(attribute(attrs, "INDEPENDENT"), Some("YES"));
        assert_eq!(attribute(attrs, "BYTERANGE"), None);
        assert_eq!(
            resolve("/live/b/index.m3u8", "part3.m4s"),
            "/live/b/part3.m4s"
        );
        assert_eq!(resolve("/live/b/index.m3u8?t=1", "/x/p.m4s"), "/x/p.m4s");
        assert_eq!(
            blocking_path("/live/b/index.m3u8", 8, 2),
            "/live/b/index.m3u8?_HLS_msn=8&_HLS_part=2"
        );
        assert_eq!(
            blocking_path("/i.m3u8?t=1", 0, 0),
            "/i.m3u8?t=1&_HLS_msn=0&_HLS_part=0"
        );
    }
}
