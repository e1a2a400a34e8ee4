//! Member requests: MEMBER_REQUEST_ADD/DEL, MEMBER_REQUEST_APPROVE,
//! MEMBER_REMOVE, MEMBER_ROLE_ASSIGN.

use super::types::{ClusterArg, ClusterType, MAX_AVATAR, MAX_INFO, MemberAddr};
use super::{for_each_arg, put_id, read_id};
use crate::avrs::labels::{self, labelled};
use crate::avrs::request::{Request, read_str, required, set_once, write_str};
use crate::avrs::roles::Roles;
use crate::error::{ProtoError, Result};
use crate::ids::{Guuid, Hash32};
use crate::tsd::{TsdBuilder, TsdItem};

/// What a member says about itself. Every string is at most [`MAX_INFO`]
/// bytes and the avatar at most [`MAX_AVATAR`]; anything wrong here maps to
/// `MEMBER_INFO_PROBLEM`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberInfo {
    pub display_name: Option<String>,
    pub name: Option<String>,
    pub second_name: Option<String>,
    pub surname: Option<String>,
    pub patronim: Option<String>,
    pub status: Option<String>,
    pub title: Option<String>,
    /// Opaque image bytes.
    pub avatar: Option<Vec<u8>>,
}

impl MemberInfo {
    /// The string fields with their argument codes, in wire order.
    fn strings(&self) -> [(ClusterArg, &Option<String>); 7] {
        [
            (ClusterArg::MemberDisplayName, &self.display_name),
            (ClusterArg::MemberName, &self.name),
            (ClusterArg::MemberSecondName, &self.second_name),
            (ClusterArg::MemberSurname, &self.surname),
            (ClusterArg::MemberPatronim, &self.patronim),
            (ClusterArg::MemberStatus, &self.status),
            (ClusterArg::MemberTitle, &self.title),
        ]
    }

    fn string_mut(&mut self, arg: ClusterArg) -> Option<&mut Option<String>> {
        Some(match arg {
            ClusterArg::MemberDisplayName => &mut self.display_name,
            ClusterArg::MemberName => &mut self.name,
            ClusterArg::MemberSecondName => &mut self.second_name,
            ClusterArg::MemberSurname => &mut self.surname,
            ClusterArg::MemberPatronim => &mut self.patronim,
            ClusterArg::MemberStatus => &mut self.status,
            ClusterArg::MemberTitle => &mut self.title,
            _ => return None,
        })
    }

    pub(crate) fn write(&self, args: &mut TsdBuilder) -> Result<()> {
        for (arg, text) in self.strings() {
            if let Some(text) = text {
                write_str(args, arg.code(), text, MAX_INFO, labels::MEMBER_INFO)?;
            }
        }
        if let Some(avatar) = &self.avatar {
            check_avatar(avatar.len())?;
            args.put(ClusterArg::MemberAvatar.code(), avatar)?;
        }
        Ok(())
    }

    /// Takes `item` if it is member info; `Ok(false)` if it is not.
    pub(crate) fn read(&mut self, arg: ClusterArg, item: &TsdItem<'_>) -> Result<bool> {
        if arg == ClusterArg::MemberAvatar {
            check_avatar(item.value.len())?;
            set_once(&mut self.avatar, item.value.to_vec(), labels::AVATAR)?;
            return Ok(true);
        }
        let Some(slot) = self.string_mut(arg) else {
            return Ok(false);
        };
        let text = read_str(item, MAX_INFO, labels::MEMBER_INFO)?;
        set_once(slot, text, labels::MEMBER_INFO)?;
        Ok(true)
    }
}

fn check_avatar(size: usize) -> Result<()> {
    if size > MAX_AVATAR {
        return Err(ProtoError::TooLarge {
            what: labels::AVATAR,
            size,
            max: MAX_AVATAR,
        });
    }
    Ok(())
}

/// MEMBER_REQUEST_ADD `[ID, MEMBER_ADDR?, MEMBER_ROLE?, info…?]`: a join
/// request keyed by the signer's key hash. The role is a wish; the approver
/// decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRequestAdd {
    pub id: Guuid,
    pub addr: Option<MemberAddr>,
    pub role: Option<Roles>,
    pub info: MemberInfo,
}

impl Request for MemberRequestAdd {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::MemberRequestAdd;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        put_id(args, self.id);
        if let Some(addr) = self.addr {
            args.put(ClusterArg::MemberAddr.code(), &addr.to_bytes())?;
        }
        if let Some(role) = self.role {
            write_role(args, role)?;
        }
        self.info.write(args)
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let (mut id, mut addr, mut role) = (None, None, None);
        let mut info = MemberInfo::default();
        for_each_arg(items, |arg, item| {
            match arg {
                ClusterArg::Id => read_id(&mut id, item)?,
                ClusterArg::MemberAddr => set_once(
                    &mut addr,
                    MemberAddr::from_slice(item.value)?,
                    labels::MEMBER_ADDR,
                )?,
                ClusterArg::MemberRole => {
                    set_once(&mut role, read_role(item)?, labels::MEMBER_ROLE)?
                }
                _ => return info.read(arg, item),
            }
            Ok(true)
        })?;
        Ok(Self {
            id: required(id, labels::CLUSTER_ID)?,
            addr,
            role,
            info,
        })
    }
}

fn read_role(item: &TsdItem<'_>) -> Result<Roles> {
    Roles::from_mask(item.u16().map_err(labelled(labels::MEMBER_ROLE))?)
}

/// Appends MEMBER_ROLE; a mask with undefined bits (from `from_bits_retain`)
/// is refused, as the reader would refuse it.
fn write_role(args: &mut TsdBuilder, role: Roles) -> Result<()> {
    let role = Roles::from_mask(role.mask())?;
    args.put_u16(ClusterArg::MemberRole.code(), role.mask());
    Ok(())
}

id_only_request!(
    "MEMBER_REQUEST_DEL `[ID]`: the signer withdraws its own join request, \
     or leaves.",
    MemberRequestDel,
    ClusterType::MemberRequestDel
);

/// Reads [ID, MEMBER, MEMBER_ROLE?]; the role only where `with_role`.
fn read_target(items: &[TsdItem<'_>], with_role: bool) -> Result<(Guuid, Hash32, Option<Roles>)> {
    let (mut id, mut member, mut role) = (None, None, None);
    for_each_arg(items, |arg, item| {
        match arg {
            ClusterArg::Id => read_id(&mut id, item)?,
            ClusterArg::Member => {
                let hash = item.hash().map_err(labelled(labels::MEMBER))?;
                set_once(&mut member, hash, labels::MEMBER)?;
            }
            ClusterArg::MemberRole if with_role => {
                set_once(&mut role, read_role(item)?, labels::MEMBER_ROLE)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let id = required(id, labels::CLUSTER_ID)?;
    Ok((id, required(member, labels::MEMBER)?, role))
}

fn write_target(args: &mut TsdBuilder, id: Guuid, member: &Hash32) {
    put_id(args, id);
    args.put_hash(ClusterArg::Member.code(), member);
}

/// A request whose arguments are the cluster ID and one member id.
macro_rules! member_target_request {
    ($doc:literal, $name:ident, $kind:expr) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            pub id: Guuid,
            pub member: Hash32,
        }

        impl Request for $name {
            type Kind = ClusterType;
            const KIND: ClusterType = $kind;

            fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
                write_target(args, self.id, &self.member);
                Ok(())
            }

            fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
                let (id, member, _) = read_target(items, false)?;
                Ok(Self { id, member })
            }
        }
    };
}

member_target_request!(
    "MEMBER_REQUEST_APPROVE `[ID, MEMBER]`: the owner, a HOST or an OPERATOR \
     moves the candidate from the requests to the members.",
    MemberApprove,
    ClusterType::MemberRequestApprove
);

member_target_request!(
    "MEMBER_REMOVE `[ID, MEMBER]`: the owner, a HOST or an OPERATOR removes \
     a member (a member leaves by MEMBER_REQUEST_DEL).",
    MemberRemove,
    ClusterType::MemberRemove
);

/// MEMBER_ROLE_ASSIGN `[ID, MEMBER, MEMBER_ROLE]`: replaces the member's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleAssign {
    pub id: Guuid,
    pub member: Hash32,
    pub role: Roles,
}

impl Request for RoleAssign {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::MemberRoleAssign;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        write_target(args, self.id, &self.member);
        write_role(args, self.role)
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let (id, member, role) = read_target(items, true)?;
        let role = required(role, labels::MEMBER_ROLE)?;
        Ok(Self { id, member, role })
    }
}
