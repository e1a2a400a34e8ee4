//! Cluster content requests: CONTENT_ADD, CONTENT_UPDATE, CONTENT_DEL,
//! CONTENT_LIST_*.

use super::types::{ClusterArg, ClusterType, MAX_TITLE};
use super::{for_each_arg, put_id, read_id};
use crate::avrs::flow::{FlowCodec, Flows, check_codecs};
use crate::avrs::labels::{self, labelled};
use crate::avrs::request::{Request, read_str, required, set_once, write_str};
use crate::error::{ProtoError, Result};
use crate::ids::Guuid;
use crate::tsd::{TsdBuilder, TsdItem};

/// CONTENT_ADD `[ID, CONTENT_ID, CONTENT_TITLE?, CONTENT_FLOWS,
/// CONTENT_FLOW_CODEC…]`: the owner, a HOST or a SERVER adds a content
/// item. Each codec names an existing flow, at most one per flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentAdd {
    /// The cluster.
    pub id: Guuid,
    /// The content, cluster-wide.
    pub content_id: Guuid,
    /// At most [`MAX_TITLE`] bytes.
    pub title: Option<String>,
    pub flows: Flows,
    pub codecs: Vec<FlowCodec>,
}

impl Request for ContentAdd {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::ContentAdd;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        check_codecs(&self.flows, &self.codecs)?;
        write_target(args, self.id, self.content_id);
        if let Some(title) = &self.title {
            let code = ClusterArg::ContentTitle.code();
            write_str(args, code, title, MAX_TITLE, labels::CONTENT_TITLE)?;
        }
        args.put_str(ClusterArg::ContentFlows.code(), self.flows.as_str())?;
        for codec in &self.codecs {
            args.put(ClusterArg::ContentFlowCodec.code(), &codec.encode_value()?)?;
        }
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let (mut id, mut content_id, mut title, mut flows) = (None, None, None, None);
        let mut codecs = Vec::new();
        for_each_arg(items, |arg, item| {
            match arg {
                ClusterArg::Id => read_id(&mut id, item)?,
                ClusterArg::ContentId => read_content_id(&mut content_id, item)?,
                ClusterArg::ContentTitle => {
                    let text = read_str(item, MAX_TITLE, labels::CONTENT_TITLE)?;
                    set_once(&mut title, text, labels::CONTENT_TITLE)?;
                }
                ClusterArg::ContentFlows => {
                    let text = item.str().map_err(labelled(labels::CONTENT_FLOWS))?;
                    set_once(&mut flows, Flows::new(text)?, labels::CONTENT_FLOWS)?;
                }
                ClusterArg::ContentFlowCodec => codecs.push(FlowCodec::decode_value(item.value)?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let id = required(id, labels::CLUSTER_ID)?;
        let content_id = required(content_id, labels::CONTENT_ID)?;
        let flows = required(flows, labels::CONTENT_FLOWS)?;
        check_codecs(&flows, &codecs)?;
        Ok(Self {
            id,
            content_id,
            title,
            flows,
            codecs,
        })
    }
}

/// CONTENT_UPDATE `[ID, CONTENT_ID, CONTENT_TITLE?, CONTENT_FLOWS?,
/// CONTENT_FLOW_CODEC…]` (ours; the C code leaves it unhandled): changes a
/// content item, the same roles as CONTENT_ADD. At least one of the three:
/// a title replaces the title; flows replace the flows and, with them, the
/// codecs (which must name its flows); codecs alone replace the codecs of
/// the flows the receiver holds (which only it can check; here: one codec
/// per flow at most).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentUpdate {
    pub id: Guuid,
    pub content_id: Guuid,
    pub title: Option<String>,
    pub flows: Option<Flows>,
    pub codecs: Vec<FlowCodec>,
}

impl ContentUpdate {
    fn check(&self) -> Result<()> {
        if self.title.is_none() && self.flows.is_none() && self.codecs.is_empty() {
            return Err(ProtoError::Missing {
                what: labels::CLUSTER_CHANGE,
            });
        }
        match &self.flows {
            Some(flows) => check_codecs(flows, &self.codecs),
            None => check_one_per_flow(&self.codecs),
        }
    }
}

/// At most one codec per flow id (whatever the flows are).
fn check_one_per_flow(codecs: &[FlowCodec]) -> Result<()> {
    let mut seen = [false; 256];
    for codec in codecs {
        if std::mem::replace(&mut seen[usize::from(codec.flow_id)], true) {
            return Err(ProtoError::Duplicate {
                what: labels::FLOW_CODEC,
            });
        }
    }
    Ok(())
}

impl Request for ContentUpdate {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::ContentUpdate;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        self.check()?;
        write_target(args, self.id, self.content_id);
        if let Some(title) = &self.title {
            let code = ClusterArg::ContentTitle.code();
            write_str(args, code, title, MAX_TITLE, labels::CONTENT_TITLE)?;
        }
        if let Some(flows) = &self.flows {
            args.put_str(ClusterArg::ContentFlows.code(), flows.as_str())?;
        }
        for codec in &self.codecs {
            args.put(ClusterArg::ContentFlowCodec.code(), &codec.encode_value()?)?;
        }
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let (mut id, mut content_id, mut title, mut flows) = (None, None, None, None);
        let mut codecs = Vec::new();
        for_each_arg(items, |arg, item| {
            match arg {
                ClusterArg::Id => read_id(&mut id, item)?,
                ClusterArg::ContentId => read_content_id(&mut content_id, item)?,
                ClusterArg::ContentTitle => {
                    let text = read_str(item, MAX_TITLE, labels::CONTENT_TITLE)?;
                    set_once(&mut title, text, labels::CONTENT_TITLE)?;
                }
                ClusterArg::ContentFlows => {
                    let text = item.str().map_err(labelled(labels::CONTENT_FLOWS))?;
                    set_once(&mut flows, Flows::new(text)?, labels::CONTENT_FLOWS)?;
                }
                ClusterArg::ContentFlowCodec => codecs.push(FlowCodec::decode_value(item.value)?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let update = Self {
            id: required(id, labels::CLUSTER_ID)?,
            content_id: required(content_id, labels::CONTENT_ID)?,
            title,
            flows,
            codecs,
        };
        update.check()?;
        Ok(update)
    }
}

fn read_content_id(slot: &mut Option<Guuid>, item: &TsdItem<'_>) -> Result<()> {
    let content_id = item.guuid().map_err(labelled(labels::CONTENT_ID))?;
    set_once(slot, content_id, labels::CONTENT_ID)
}

fn write_target(args: &mut TsdBuilder, id: Guuid, content_id: Guuid) {
    put_id(args, id);
    args.put_guuid(ClusterArg::ContentId.code(), content_id);
}

/// CONTENT_DEL `[ID, CONTENT_ID]`: the roles of CONTENT_ADD, and OPERATOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentDel {
    pub id: Guuid,
    pub content_id: Guuid,
}

impl Request for ContentDel {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::ContentDel;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        write_target(args, self.id, self.content_id);
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let (mut id, mut content_id) = (None, None);
        for_each_arg(items, |arg, item| {
            match arg {
                ClusterArg::Id => read_id(&mut id, item)?,
                ClusterArg::ContentId => read_content_id(&mut content_id, item)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Self {
            id: required(id, labels::CLUSTER_ID)?,
            content_id: required(content_id, labels::CONTENT_ID)?,
        })
    }
}

id_only_request!(
    "CONTENT_LIST_REQUEST `[ID]`: any member asks for the cluster's contents.",
    ContentListRequest,
    ClusterType::ContentListRequest
);

/// CONTENT_LIST_RESPONSE `[ID, CONTENT_ID…]`: the cluster and one CONTENT_ID
/// item per content item, possibly none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentListResponse {
    pub id: Guuid,
    pub contents: Vec<Guuid>,
}

impl Request for ContentListResponse {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::ContentListResponse;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        put_id(args, self.id);
        for &content_id in &self.contents {
            args.put_guuid(ClusterArg::ContentId.code(), content_id);
        }
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let mut id = None;
        let mut contents = Vec::with_capacity(items.len());
        for_each_arg(items, |arg, item| {
            match arg {
                ClusterArg::Id => read_id(&mut id, item)?,
                ClusterArg::ContentId => {
                    contents.push(item.guuid().map_err(labelled(labels::CONTENT_ID))?)
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Self {
            id: required(id, labels::CLUSTER_ID)?,
            contents,
        })
    }
}
