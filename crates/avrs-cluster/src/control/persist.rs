//! The book as JSON, for `DATA_DIR/cluster-book.json`. Reading checks
//! everything a request would have been checked for (sizes, ids, roles,
//! flows, codecs, bounds), so a file edited by hand or cut short is
//! refused as a whole rather than half believed.

use super::book::{
    ClusterBook, ClusterRecord, ContentRecord, MAX_CLUSTERS, MAX_CONTENTS, MAX_ENTRIES,
    MAX_MEMBERS, MAX_REQUESTS, MemberRecord, RequestRecord,
};
use super::replica::ReplicaMark;
use crate::error::{ClusterError, Result};
use avrs_proto::avrs::cluster::BookStamp;
use avrs_proto::avrs::cluster::{
    ClusterOptions, MAX_INFO, MAX_TITLE, MemberAddr, MemberInfo, Setup,
};
use avrs_proto::avrs::flow::check_codecs;
use avrs_proto::avrs::{FlowCodec, Flows, Roles};
use avrs_proto::{Guuid, Hash32};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Largest book file read (the bounds keep a real one far smaller); also
/// the largest book BOOK_SYNC carries.
pub const MAX_BOOK_FILE: usize = avrs_proto::avrs::cluster::MAX_BOOK_SIZE as usize;

/// The file format's version; another one is refused.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BookFile {
    version: u32,
    /// Saved changes so far (BOOK_SYNC's revision); absent: 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    revision: u64,
    clusters: Vec<ClusterFile>,
    /// On an operator: which clusters are the host's copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replica: Option<ReplicaFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplicaFile {
    /// The host's revision and the SHA3-256 of its book, in hex.
    revision: u64,
    digest: String,
    clusters: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterFile {
    id: String,
    owner: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pinned: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    setup: Option<String>,
    encrypted: bool,
    members: Vec<MemberFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    requests: Vec<MemberFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    contents: Vec<ContentFile>,
}

/// A member, or a request (with its wished roles and address).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberFile {
    id: String,
    roles: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    addr: Option<[u64; 2]>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    info: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentFile {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    flows: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    codecs: Vec<(u8, String)>,
}

/// Member info fields by their name in the file.
const INFO_FIELDS: [&str; 7] = [
    "display_name",
    "name",
    "second_name",
    "surname",
    "patronim",
    "status",
    "title",
];

/// The text field of `info` named `field` (as the book file and the HTTP
/// API name them), or `None` for an unknown name.
pub fn info_slot<'a>(info: &'a mut MemberInfo, field: &str) -> Option<&'a mut Option<String>> {
    Some(match field {
        "display_name" => &mut info.display_name,
        "name" => &mut info.name,
        "second_name" => &mut info.second_name,
        "surname" => &mut info.surname,
        "patronim" => &mut info.patronim,
        "status" => &mut info.status,
        "title" => &mut info.title,
        _ => return None,
    })
}

fn corrupt(why: impl std::fmt::Display) -> ClusterError {
    ClusterError::BookCorrupt(why.to_string())
}

impl ClusterBook {
    /// The book as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let file = BookFile {
            version: VERSION,
            revision: self.revision,
            clusters: self.clusters.values().map(cluster_file).collect(),
            replica: self.replica.as_ref().map(|mark| ReplicaFile {
                revision: mark.stamp.revision,
                digest: mark.stamp.digest.to_hex(),
                clusters: mark.clusters.iter().map(Guuid::to_string).collect(),
            }),
        };
        // Strings and numbers only: serialising cannot fail.
        serde_json::to_vec_pretty(&file).unwrap_or_default()
    }

    /// Reads a book written by [`Self::to_json`]; anything off is refused.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_BOOK_FILE {
            return Err(corrupt(format!("larger than {MAX_BOOK_FILE} bytes")));
        }
        let file: BookFile = serde_json::from_slice(bytes).map_err(corrupt)?;
        if file.version != VERSION {
            return Err(corrupt(format!(
                "version {} (expected {VERSION})",
                file.version
            )));
        }
        let mut book = ClusterBook::default();
        for cluster in file.clusters {
            let record = cluster_record(cluster)?;
            let id = record.id;
            if book.clusters.insert(id, record).is_some() {
                return Err(corrupt(format!("cluster {id} twice")));
            }
        }
        let unpinned = book.clusters.values().filter(|r| !r.pinned).count();
        if unpinned > MAX_CLUSTERS || book.len() > unpinned + 1 {
            return Err(corrupt("too many clusters"));
        }
        if book.entries() > MAX_ENTRIES {
            return Err(corrupt("too many members, requests and contents"));
        }
        book.revision = file.revision;
        book.replica = file.replica.map(|r| replica_mark(r, &book)).transpose()?;
        Ok(book)
    }
}

fn cluster_file(record: &ClusterRecord) -> ClusterFile {
    let member = |(id, m): (&Hash32, &MemberRecord)| member_file(id, m.roles, &m.info, None);
    let request = |(id, r): (&Hash32, &RequestRecord)| member_file(id, r.roles, &r.info, r.addr);
    ClusterFile {
        id: record.id.to_string(),
        owner: record.owner.to_hex(),
        pinned: record.pinned,
        title: record.options.title.clone(),
        setup: record.options.setup.map(|s| s.name().to_owned()),
        encrypted: record.options.encrypted.unwrap_or(false),
        members: record.members.iter().map(member).collect(),
        requests: record.requests.iter().map(request).collect(),
        contents: record
            .contents
            .iter()
            .map(|(id, c)| ContentFile {
                id: id.to_string(),
                title: c.title.clone(),
                flows: c.flows.as_str().to_owned(),
                codecs: c
                    .codecs
                    .iter()
                    .map(|f| (f.flow_id, f.codec.clone()))
                    .collect(),
            })
            .collect(),
    }
}

fn member_file(
    id: &Hash32,
    roles: Roles,
    info: &MemberInfo,
    addr: Option<MemberAddr>,
) -> MemberFile {
    let mut copy = info.clone();
    let mut fields = BTreeMap::new();
    for field in INFO_FIELDS {
        if let Some(Some(text)) = info_slot(&mut copy, field).map(Option::take) {
            fields.insert(field.to_owned(), text);
        }
    }
    MemberFile {
        id: id.to_hex(),
        roles: roles.to_string(),
        addr: addr.map(|a| [a.net_id, a.node_addr]),
        info: fields,
    }
}

fn cluster_record(file: ClusterFile) -> Result<ClusterRecord> {
    let id: Guuid = file
        .id
        .parse()
        .map_err(|_| corrupt(format!("cluster id {:?}", file.id)))?;
    let at = |what: &str| corrupt(format!("cluster {id}: {what}"));
    if id == Guuid::default() {
        return Err(at("zero id"));
    }
    let owner = hash(&file.owner).ok_or_else(|| at("owner is not a member id"))?;
    let title = file.title.map(|t| checked_text(t, MAX_TITLE)).transpose();
    let title = title.map_err(|why| at(&format!("title {why}")))?;
    let setup = match file.setup {
        Some(name) => Some(Setup::from_name(&name).ok_or_else(|| at("unknown setup"))?),
        None => None,
    };
    let mut record = ClusterRecord::new(id, owner, ClusterOptions::default());
    record.options = ClusterOptions {
        title,
        setup,
        encrypted: Some(file.encrypted),
    };
    record.pinned = file.pinned;
    record.members = people(file.members, MAX_MEMBERS)
        .map_err(|why| at(&format!("members: {why}")))?
        .into_iter()
        .map(|(id, (roles, info, _))| (id, MemberRecord { roles, info }))
        .collect();
    if !record.members.contains_key(&owner) {
        return Err(at("the owner is not a member"));
    }
    record.requests = people(file.requests, MAX_REQUESTS)
        .map_err(|why| at(&format!("requests: {why}")))?
        .into_iter()
        .map(|(id, (roles, info, addr))| (id, RequestRecord { roles, info, addr }))
        .collect();
    if record
        .requests
        .keys()
        .any(|r| record.members.contains_key(r))
    {
        return Err(at("a member with a request"));
    }
    if file.contents.len() > MAX_CONTENTS {
        return Err(at("too many contents"));
    }
    for content in file.contents {
        let (content_id, content) = content_record(content).map_err(|why| at(&why))?;
        if record.contents.insert(content_id, content).is_some() {
            return Err(at(&format!("content {content_id} twice")));
        }
    }
    Ok(record)
}

type Person = (Roles, MemberInfo, Option<MemberAddr>);

fn people(
    list: Vec<MemberFile>,
    max: usize,
) -> std::result::Result<BTreeMap<Hash32, Person>, String> {
    if list.len() > max {
        return Err(format!("more than {max}"));
    }
    let mut out = BTreeMap::new();
    for entry in list {
        let id = hash(&entry.id).ok_or_else(|| format!("{:?} is not a member id", entry.id))?;
        let roles = Roles::parse(&entry.roles).map_err(|e| format!("{}: {e}", entry.id))?;
        let mut info = MemberInfo::default();
        for (field, text) in entry.info {
            let slot = info_slot(&mut info, &field)
                .ok_or_else(|| format!("{}: unknown info field {field:?}", entry.id))?;
            *slot = Some(checked_text(text, MAX_INFO).map_err(|w| format!("{field} {w}"))?);
        }
        let addr = entry
            .addr
            .map(|[net_id, node_addr]| MemberAddr { net_id, node_addr });
        if out.insert(id, (roles, info, addr)).is_some() {
            return Err(format!("{} twice", entry.id));
        }
    }
    Ok(out)
}

fn content_record(file: ContentFile) -> std::result::Result<(Guuid, ContentRecord), String> {
    let id: Guuid = file
        .id
        .parse()
        .map_err(|_| format!("content id {:?}", file.id))?;
    let title = file.title.map(|t| checked_text(t, MAX_TITLE)).transpose();
    let title = title.map_err(|why| format!("content {id}: title {why}"))?;
    let flows = Flows::new(file.flows).map_err(|e| format!("content {id}: flows: {e}"))?;
    let codecs: Vec<FlowCodec> = file
        .codecs
        .into_iter()
        .map(|(flow, codec)| FlowCodec::new(flow, codec))
        .collect();
    for codec in &codecs {
        // The same checks as on the wire: not empty, capped, no NUL.
        codec
            .encode_value()
            .map_err(|e| format!("content {id}: codec: {e}"))?;
    }
    check_codecs(&flows, &codecs).map_err(|e| format!("content {id}: codecs: {e}"))?;
    Ok((
        id,
        ContentRecord {
            title,
            flows,
            codecs,
        },
    ))
}

/// The replica's clusters must be clusters of the book.
fn replica_mark(file: ReplicaFile, book: &ClusterBook) -> Result<ReplicaMark> {
    let digest = hash(&file.digest).ok_or_else(|| corrupt("replica digest"))?;
    let mut clusters = BTreeSet::new();
    for id in file.clusters {
        let id: Guuid = id
            .parse()
            .map_err(|_| corrupt(format!("replica cluster {id:?}")))?;
        if book.get(&id).is_none() || !clusters.insert(id) {
            return Err(corrupt(format!(
                "replica cluster {id} not in the book, or twice"
            )));
        }
    }
    let stamp = BookStamp {
        revision: file.revision,
        digest,
    };
    Ok(ReplicaMark { stamp, clusters })
}

fn hash(text: &str) -> Option<Hash32> {
    Hash32::from_hex(text).ok()
}

/// A string the wire would take: at most `max` bytes, no NUL.
fn checked_text(text: String, max: usize) -> std::result::Result<String, String> {
    if text.len() > max {
        return Err(format!("longer than {max} bytes"));
    }
    if text.contains('\0') {
        return Err("holds a NUL".into());
    }
    Ok(text)
}
