//! Cluster lifecycle requests: CREATE, DESTROY, CHANGE, INFO, LIST_*.

use super::types::{ClusterArg, ClusterType, MAX_TITLE, Setup};
use super::{for_each_arg, put_id, read_id};
use crate::avrs::labels::{self, labelled};
use crate::avrs::request::{Request, read_bool, read_str, required, set_once, write_str};
use crate::error::{ProtoError, Result};
use crate::ids::Guuid;
use crate::tsd::{TsdBuilder, TsdItem};

/// The settable options of a cluster (CREATE, CHANGE, INFO).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterOptions {
    /// At most [`MAX_TITLE`] bytes.
    pub title: Option<String>,
    pub setup: Option<Setup>,
    pub encrypted: Option<bool>,
}

impl ClusterOptions {
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.setup.is_none() && self.encrypted.is_none()
    }

    /// Appends TITLE, SETUP, ENCRYPTED (those present), in that order.
    pub(crate) fn write(&self, args: &mut TsdBuilder) -> Result<()> {
        if let Some(title) = &self.title {
            let code = ClusterArg::Title.code();
            write_str(args, code, title, MAX_TITLE, labels::CLUSTER_TITLE)?;
        }
        if let Some(setup) = self.setup {
            args.put_u8(ClusterArg::Setup.code(), setup.code());
        }
        if let Some(encrypted) = self.encrypted {
            args.put_u8(ClusterArg::Encrypted.code(), u8::from(encrypted));
        }
        Ok(())
    }

    /// Takes `item` if it is an option; `Ok(false)` if it is not one.
    pub(crate) fn read(&mut self, arg: ClusterArg, item: &TsdItem<'_>) -> Result<bool> {
        match arg {
            ClusterArg::Title => {
                let title = read_str(item, MAX_TITLE, labels::CLUSTER_TITLE)?;
                set_once(&mut self.title, title, labels::CLUSTER_TITLE)?;
            }
            ClusterArg::Setup => {
                let code = item.u8().map_err(labelled(labels::CLUSTER_SETUP))?;
                set_once(
                    &mut self.setup,
                    Setup::from_code(code)?,
                    labels::CLUSTER_SETUP,
                )?;
            }
            ClusterArg::Encrypted => {
                let encrypted = read_bool(item, labels::ENCRYPTED)?;
                set_once(&mut self.encrypted, encrypted, labels::ENCRYPTED)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Reads `ID` (optional here) and the options.
fn read_id_and_options(items: &[TsdItem<'_>]) -> Result<(Option<Guuid>, ClusterOptions)> {
    let mut id = None;
    let mut options = ClusterOptions::default();
    for_each_arg(items, |arg, item| match arg {
        ClusterArg::Id => read_id(&mut id, item).map(|()| true),
        _ => options.read(arg, item),
    })?;
    Ok((id, options))
}

fn write_id_and_options(
    args: &mut TsdBuilder,
    id: Option<Guuid>,
    options: &ClusterOptions,
) -> Result<()> {
    if let Some(id) = id {
        put_id(args, id);
    }
    options.write(args)
}

/// CREATE `[ID?, TITLE?, SETUP?, ENCRYPTED?]`: the signer becomes the owner;
/// without ID the host picks a random GUUID.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Create {
    pub id: Option<Guuid>,
    pub options: ClusterOptions,
}

impl Request for Create {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::Create;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        write_id_and_options(args, self.id, &self.options)
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let (id, options) = read_id_and_options(items)?;
        Ok(Self { id, options })
    }
}

/// CHANGE `[ID, TITLE?, SETUP?, ENCRYPTED?]`: at least one option; owner only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: Guuid,
    /// Not empty.
    pub options: ClusterOptions,
}

impl Request for Change {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::Change;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        check_some_change(&self.options)?;
        write_id_and_options(args, Some(self.id), &self.options)
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let (id, options) = read_id_and_options(items)?;
        let id = required(id, labels::CLUSTER_ID)?;
        check_some_change(&options)?;
        Ok(Self { id, options })
    }
}

fn check_some_change(options: &ClusterOptions) -> Result<()> {
    if options.is_empty() {
        return Err(ProtoError::Missing {
            what: labels::CLUSTER_CHANGE,
        });
    }
    Ok(())
}

/// INFO `[ID, TITLE?, SETUP?, ENCRYPTED?]`: a cluster's description; the reply
/// to CREATE carries at least the ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub id: Guuid,
    pub options: ClusterOptions,
}

impl Request for Info {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::Info;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        write_id_and_options(args, Some(self.id), &self.options)
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let (id, options) = read_id_and_options(items)?;
        let id = required(id, labels::CLUSTER_ID)?;
        Ok(Self { id, options })
    }
}

id_only_request!("DESTROY `[ID]`: owner only.", Destroy, ClusterType::Destroy);

/// LIST_REQUEST `[]`: which clusters does the host know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListRequest;

impl Request for ListRequest {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::ListRequest;

    fn write_args(&self, _args: &mut TsdBuilder) -> Result<()> {
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        for_each_arg(items, |_, _| Ok(false))?;
        Ok(Self)
    }
}

/// LIST_RESPONSE `[ID…]`: one ID item per cluster, possibly none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListResponse {
    pub ids: Vec<Guuid>,
}

impl Request for ListResponse {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::ListResponse;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        for &id in &self.ids {
            put_id(args, id);
        }
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let mut ids = Vec::with_capacity(items.len());
        for_each_arg(items, |arg, item| {
            if arg != ClusterArg::Id {
                return Ok(false);
            }
            ids.push(item.guuid().map_err(labelled(labels::CLUSTER_ID))?);
            Ok(true)
        })?;
        Ok(Self { ids })
    }
}
