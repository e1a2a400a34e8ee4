//! The rules of cluster control, one request at a time.
//!
//! Every request goes through the same gate first: the RBAC table of
//! `avrs_auth::rbac`, for the roles the actor holds here (its own, plus
//! those it holds as a member of the cluster named), unless the actor owns
//! that cluster: the owner may do everything on it. Then each request's own
//! rules. Refusals are `Err(reply)`, so `?` ends a rule early.

use super::book::{
    ClusterBook, ClusterRecord, ContentRecord, MAX_CLUSTERS, MAX_CONTENTS, MAX_ENTRIES,
    MAX_MEMBERS, MAX_REQUESTS, MemberRecord, RequestRecord,
};
use super::{Actor, Effect, Handled, Reply, tags};
use avrs_auth::rbac::{Operation, allowed};
use avrs_proto::avrs::cluster::{
    Change, ClusterOptions, ContentAdd, ContentDel, ContentListResponse, ContentUpdate, Create,
    Info, ListResponse, MemberInfo, MemberRequestAdd, RoleAssign,
};
use avrs_proto::avrs::flow::check_codecs;
use avrs_proto::avrs::{ClusterRequest, ClusterType, RetCode, RetCodePacket, Roles};
use avrs_proto::{Guuid, Hash32};

type Step = Result<Handled, RetCodePacket>;

fn refuse(code: RetCode, tag: &str) -> RetCodePacket {
    RetCodePacket::with_text(code, tag)
}

fn done(tag: &str, effect: Option<Effect>) -> Step {
    Ok(Handled {
        reply: Reply::Code(RetCodePacket::with_text(RetCode::Success, tag)),
        changed: true,
        effect,
    })
}

fn answer(packet: ClusterRequest) -> Step {
    Ok(Handled {
        reply: Reply::Packet(Box::new(packet)),
        changed: false,
        effect: None,
    })
}

/// Roles that administer this node's book: they see every cluster in it.
const KEEPERS: Roles = Roles::HOST.union(Roles::OPERATOR);
/// Roles an approver without the host role may not hand out (nor take
/// away, by removing their holder).
const ELEVATED: Roles = Roles::HOST.union(Roles::OPERATOR);

fn is_keeper(roles: Roles) -> bool {
    roles.intersects(KEEPERS)
}

/// The member info the book keeps: no avatar.
fn without_avatar(mut info: MemberInfo) -> MemberInfo {
    info.avatar = None;
    info
}

impl ClusterBook {
    /// Answers one request from `actor`. `new_id` gives a fresh cluster id
    /// (CREATE without ID); it is called at most once.
    pub fn handle(
        &mut self,
        actor: &Actor,
        request: ClusterRequest,
        new_id: impl FnOnce() -> Guuid,
    ) -> Handled {
        use ClusterRequest as R;
        // An operator's copy of a host's cluster changes only on the host.
        if let Some(refusal) = self.replica_refusal(&request) {
            return Handled::refused(refusal);
        }
        let step = match request {
            R::Create(create) => self.create(actor, create, new_id),
            R::Destroy(destroy) => self.destroy(actor, destroy.id),
            R::Change(change) => self.change(actor, change),
            R::Info(info) => self.info(actor, info.id),
            R::ListRequest(_) => self.list(actor),
            R::MemberRequestAdd(add) => self.request_add(actor, add),
            R::MemberRequestDel(del) => self.request_del(actor, del.id),
            R::MemberApprove(approve) => self.approve(actor, approve.id, approve.member),
            R::MemberRemove(remove) => self.remove(actor, remove.id, remove.member),
            R::RoleAssign(assign) => self.assign(actor, assign),
            R::ContentAdd(add) => self.content_add(actor, add),
            R::ContentUpdate(update) => self.content_update(actor, update),
            R::ContentDel(del) => self.content_del(actor, del),
            R::ContentListRequest(list) => self.content_list(actor, list.id),
            R::ListResponse(_)
            | R::ContentListResponse(_)
            | R::BalanceResponse(_)
            | R::RouteFindResponse(_)
            | R::RouteCheckResponse(_) => {
                Err(refuse(RetCode::ClusterWrongRequest, tags::NOT_A_REQUEST))
            }
            // The driver answers it from the gossip view, before the book.
            R::BalanceRequest(_) => {
                Err(refuse(RetCode::ClusterWrongRequest, tags::BALANCE_NOT_HERE))
            }
            // The driver answers them from its view and relay trees
            // (`routes`), before the book.
            R::RouteFind(_) | R::RouteCheck(_) => {
                Err(refuse(RetCode::ClusterWrongRequest, tags::ROUTE_NOT_HERE))
            }
            R::Other(kind) => Err(untyped(kind)),
            // The host's driver answers BOOK_SYNC (signed) before the book.
            R::BookSync(_) => Err(untyped(ClusterType::BookSync)),
            R::BookSyncResponse(_) => {
                Err(refuse(RetCode::ClusterWrongRequest, tags::NOT_A_REQUEST))
            }
        };
        step.unwrap_or_else(Handled::refused)
    }

    /// The gate: the owner of `cluster` passes; anyone else needs a role
    /// (its own or, in `cluster`, its member roles) the table allows.
    fn gate(
        &self,
        actor: &Actor,
        op: Operation,
        cluster: Option<Guuid>,
    ) -> Result<(), RetCodePacket> {
        let record = cluster.and_then(|id| self.clusters.get(&id));
        if record.is_some_and(|r| r.owner == actor.id) {
            return Ok(());
        }
        let roles = effective_roles(actor, record);
        match allowed(roles, op) {
            true => Ok(()),
            false => Err(refuse(RetCode::MemberSecurityIssue, tags::ROLE_NOT_ALLOWED)),
        }
    }

    fn record(&self, id: Guuid) -> Result<&ClusterRecord, RetCodePacket> {
        self.clusters
            .get(&id)
            .ok_or_else(|| refuse(RetCode::ClusterNotFound, tags::NO_SUCH_CLUSTER))
    }

    fn record_mut(&mut self, id: Guuid) -> Result<&mut ClusterRecord, RetCodePacket> {
        self.clusters
            .get_mut(&id)
            .ok_or_else(|| refuse(RetCode::ClusterNotFound, tags::NO_SUCH_CLUSTER))
    }

    /// A cluster the actor may read: its owner, a member, or a keeper.
    fn visible(&self, actor: &Actor, id: Guuid) -> Result<&ClusterRecord, RetCodePacket> {
        let record = self.record(id)?;
        match sees(actor, record) {
            true => Ok(record),
            false => Err(refuse(RetCode::MemberSecurityIssue, tags::NOT_A_MEMBER)),
        }
    }

    fn room_for(&self, more: usize) -> Result<(), RetCodePacket> {
        match self.entries() + more <= MAX_ENTRIES {
            true => Ok(()),
            false => Err(refuse(RetCode::Error, tags::BOOK_FULL)),
        }
    }

    fn create(&mut self, actor: &Actor, create: Create, new_id: impl FnOnce() -> Guuid) -> Step {
        self.gate(actor, Operation::ClusterCreate, None)?;
        if self.clusters.values().filter(|r| !r.pinned).count() >= MAX_CLUSTERS {
            return Err(refuse(RetCode::Error, tags::TOO_MANY_CLUSTERS));
        }
        self.room_for(1)?;
        let id = match create.id {
            Some(id) if id == Guuid::default() => {
                return Err(refuse(RetCode::ArgIncorrect, tags::ZERO_ID));
            }
            Some(id) if self.clusters.contains_key(&id) => {
                return Err(refuse(RetCode::ClusterWrongRequest, tags::CLUSTER_EXISTS));
            }
            Some(id) => id,
            None => new_id(),
        };
        if id == Guuid::default() || self.clusters.contains_key(&id) {
            return Err(refuse(RetCode::Error, tags::NO_FRESH_ID));
        }
        let options = ClusterOptions {
            encrypted: Some(create.options.encrypted.unwrap_or(false)),
            ..create.options
        };
        let record = ClusterRecord::new(id, actor.id, options.clone());
        self.clusters.insert(id, record);
        Ok(Handled {
            reply: Reply::Packet(Box::new(ClusterRequest::Info(Info { id, options }))),
            changed: true,
            effect: None,
        })
    }

    /// DESTROY and CHANGE: the owner only.
    fn owned(
        &mut self,
        actor: &Actor,
        id: Guuid,
        op: Operation,
    ) -> Result<&mut ClusterRecord, RetCodePacket> {
        self.gate(actor, op, Some(id))?;
        let record = self.record_mut(id)?;
        if record.owner != actor.id {
            return Err(refuse(RetCode::MemberSecurityIssue, tags::NOT_OWNER));
        }
        Ok(record)
    }

    fn destroy(&mut self, actor: &Actor, id: Guuid) -> Step {
        if self.owned(actor, id, Operation::ClusterDestroy)?.pinned {
            return Err(refuse(
                RetCode::ClusterWrongRequest,
                tags::DEPLOYMENT_CLUSTER,
            ));
        }
        self.clusters.remove(&id);
        done(tags::DESTROYED, None)
    }

    fn change(&mut self, actor: &Actor, change: Change) -> Step {
        let record = self.owned(actor, change.id, Operation::ClusterChange)?;
        let (options, new) = (&mut record.options, change.options);
        if new.title.is_some() {
            options.title = new.title;
        }
        if new.setup.is_some() {
            options.setup = new.setup;
        }
        if new.encrypted.is_some() {
            options.encrypted = new.encrypted;
        }
        done(tags::CHANGED, None)
    }

    fn info(&self, actor: &Actor, id: Guuid) -> Step {
        self.gate(actor, Operation::ClusterInfo, Some(id))?;
        let record = self.visible(actor, id)?;
        answer(ClusterRequest::Info(Info {
            id,
            options: record.options.clone(),
        }))
    }

    fn list(&self, actor: &Actor) -> Step {
        self.gate(actor, Operation::ClusterList, None)?;
        let ids = self
            .clusters
            .values()
            .filter(|record| sees(actor, record))
            .map(|record| record.id)
            .collect();
        answer(ClusterRequest::ListResponse(ListResponse { ids }))
    }

    fn request_add(&mut self, actor: &Actor, add: MemberRequestAdd) -> Step {
        self.gate(actor, Operation::MemberRequestAdd, Some(add.id))?;
        let fresh = !self.record(add.id)?.requests.contains_key(&actor.id);
        if fresh {
            self.room_for(1)?;
        }
        let record = self.record_mut(add.id)?;
        if record.members.contains_key(&actor.id) {
            return Err(refuse(RetCode::ClusterWrongRequest, tags::ALREADY_A_MEMBER));
        }
        // Nodes join the deployment with a JOIN on the gossip socket; its
        // requests are the roster's.
        if record.pinned {
            return Err(refuse(
                RetCode::ClusterWrongRequest,
                tags::DEPLOYMENT_CLUSTER,
            ));
        }
        if fresh && record.requests.len() >= MAX_REQUESTS {
            return Err(refuse(RetCode::Error, tags::TOO_MANY_REQUESTS));
        }
        // An empty wish is the least one: to be a client.
        let roles = add.role.filter(|r| !r.is_empty()).unwrap_or(Roles::CLIENT);
        let request = RequestRecord {
            roles,
            info: without_avatar(add.info),
            addr: add.addr,
        };
        record.requests.insert(actor.id, request);
        done(tags::REQUEST_PENDING, None)
    }

    fn request_del(&mut self, actor: &Actor, id: Guuid) -> Step {
        self.gate(actor, Operation::MemberRequestDel, Some(id))?;
        let record = self.record_mut(id)?;
        if record.owner == actor.id {
            return Err(refuse(
                RetCode::ClusterWrongRequest,
                tags::OWNER_CANNOT_LEAVE,
            ));
        }
        let tag = if record.members.remove(&actor.id).is_some() {
            tags::LEFT
        } else if record.requests.remove(&actor.id).is_some() {
            tags::REQUEST_WITHDRAWN
        } else {
            return Err(refuse(RetCode::MemberNotFound, tags::NOT_A_MEMBER));
        };
        let member = actor.id;
        done(
            tag,
            Some(Effect::Removed {
                cluster: id,
                member,
            }),
        )
    }

    fn approve(&mut self, actor: &Actor, id: Guuid, member: Hash32) -> Step {
        self.gate(actor, Operation::MemberRequestApprove, Some(id))?;
        let record = self.record_mut(id)?;
        let Some(request) = record.requests.get(&member) else {
            return Err(match record.members.contains_key(&member) {
                true => refuse(RetCode::ClusterWrongRequest, tags::ALREADY_A_MEMBER),
                false => refuse(RetCode::MemberNotFound, tags::NO_SUCH_REQUEST),
            });
        };
        let roles = request.roles;
        if roles.intersects(ELEVATED) && !is_elevated(actor, record) {
            return Err(refuse(RetCode::MemberSecurityIssue, tags::ROLE_ESCALATION));
        }
        if record.members.len() >= MAX_MEMBERS {
            return Err(refuse(RetCode::Error, tags::TOO_MANY_MEMBERS));
        }
        let Some(request) = record.requests.remove(&member) else {
            return Err(refuse(RetCode::MemberNotFound, tags::NO_SUCH_REQUEST));
        };
        let info = request.info;
        record.members.insert(member, MemberRecord { roles, info });
        let effect = Effect::Approved {
            cluster: id,
            member,
            roles,
        };
        done(tags::APPROVED, Some(effect))
    }

    fn remove(&mut self, actor: &Actor, id: Guuid, member: Hash32) -> Step {
        self.gate(actor, Operation::MemberRemove, Some(id))?;
        let record = self.record_mut(id)?;
        if member == record.owner {
            return Err(refuse(
                RetCode::ClusterWrongRequest,
                tags::OWNER_CANNOT_BE_REMOVED,
            ));
        }
        let held = record.members.get(&member).map(|m| m.roles);
        let tag = match held {
            Some(roles) if roles.intersects(ELEVATED) && !is_elevated(actor, record) => {
                return Err(refuse(RetCode::MemberSecurityIssue, tags::ROLE_ESCALATION));
            }
            Some(_) => {
                record.members.remove(&member);
                tags::REMOVED
            }
            None if record.requests.remove(&member).is_some() => tags::REQUEST_REJECTED,
            None => return Err(refuse(RetCode::MemberNotFound, tags::NOT_A_MEMBER)),
        };
        done(
            tag,
            Some(Effect::Removed {
                cluster: id,
                member,
            }),
        )
    }

    fn assign(&mut self, actor: &Actor, assign: RoleAssign) -> Step {
        self.gate(actor, Operation::MemberRoleAssign, Some(assign.id))?;
        let record = self.record_mut(assign.id)?;
        let Some(member) = record.members.get_mut(&assign.member) else {
            return Err(refuse(RetCode::MemberNotFound, tags::NOT_A_MEMBER));
        };
        member.roles = assign.role;
        let effect = Effect::RolesAssigned {
            cluster: assign.id,
            member: assign.member,
            roles: assign.role,
        };
        done(tags::ROLES_ASSIGNED, Some(effect))
    }

    /// CONTENT_ADD / CONTENT_DEL: besides the table, the actor must belong
    /// to the cluster (owner, member), keep the book, or be one of the
    /// deployment's servers (a server role of its own).
    fn content_writer(&self, actor: &Actor, id: Guuid, op: Operation) -> Result<(), RetCodePacket> {
        self.gate(actor, op, Some(id))?;
        let record = self.record(id)?;
        match sees(actor, record) || actor.roles.contains(Roles::SERVER) {
            true => Ok(()),
            false => Err(refuse(RetCode::MemberSecurityIssue, tags::NOT_A_MEMBER)),
        }
    }

    fn content_add(&mut self, actor: &Actor, add: ContentAdd) -> Step {
        self.content_writer(actor, add.id, Operation::ClusterContentAdd)?;
        self.room_for(1)?;
        let record = self.record_mut(add.id)?;
        if record.contents.contains_key(&add.content_id) {
            return Err(refuse(RetCode::ClusterWrongRequest, tags::CONTENT_EXISTS));
        }
        if record.contents.len() >= MAX_CONTENTS {
            return Err(refuse(RetCode::Error, tags::TOO_MANY_CONTENTS));
        }
        let content = ContentRecord {
            title: add.title,
            flows: add.flows,
            codecs: add.codecs,
        };
        record.contents.insert(add.content_id, content);
        done(tags::CONTENT_ADDED, None)
    }

    /// A new title; new flows with their codecs; or new codecs for the
    /// flows it has.
    fn content_update(&mut self, actor: &Actor, update: ContentUpdate) -> Step {
        self.content_writer(actor, update.id, Operation::ClusterContentUpdate)?;
        let record = self.record_mut(update.id)?;
        let Some(content) = record.contents.get_mut(&update.content_id) else {
            return Err(refuse(RetCode::ContentNotFound, tags::NO_SUCH_CONTENT));
        };
        let new_codecs = update.flows.is_some() || !update.codecs.is_empty();
        let flows = update.flows.unwrap_or_else(|| content.flows.clone());
        let codecs = match new_codecs {
            true => update.codecs,
            false => content.codecs.clone(),
        };
        if check_codecs(&flows, &codecs).is_err() {
            return Err(refuse(RetCode::ContentFlowWrongId, tags::NO_SUCH_FLOW));
        }
        if update.title.is_some() {
            content.title = update.title;
        }
        content.flows = flows;
        content.codecs = codecs;
        done(tags::CONTENT_UPDATED, None)
    }

    fn content_del(&mut self, actor: &Actor, del: ContentDel) -> Step {
        self.content_writer(actor, del.id, Operation::ClusterContentDel)?;
        let record = self.record_mut(del.id)?;
        match record.contents.remove(&del.content_id) {
            Some(_) => done(tags::CONTENT_REMOVED, None),
            None => Err(refuse(RetCode::ContentNotFound, tags::NO_SUCH_CONTENT)),
        }
    }

    fn content_list(&self, actor: &Actor, id: Guuid) -> Step {
        self.gate(actor, Operation::ClusterContentList, Some(id))?;
        let record = self.visible(actor, id)?;
        answer(ClusterRequest::ContentListResponse(ContentListResponse {
            id,
            contents: record.contents.keys().copied().collect(),
        }))
    }
}

/// The actor's roles, plus those it holds as a member of `record`.
fn effective_roles(actor: &Actor, record: Option<&ClusterRecord>) -> Roles {
    actor.roles | record.map_or(Roles::empty(), |r| r.member_roles(&actor.id))
}

/// Whether the actor may read `record`.
fn sees(actor: &Actor, record: &ClusterRecord) -> bool {
    record.owner == actor.id || record.members.contains_key(&actor.id) || is_keeper(actor.roles)
}

/// Whether the actor may grant (or take away) host and operator roles in
/// `record`: its owner, or a host there.
fn is_elevated(actor: &Actor, record: &ClusterRecord) -> bool {
    record.owner == actor.id || effective_roles(actor, Some(record)).contains(Roles::HOST)
}

/// Packet types without a typed form here.
fn untyped(kind: ClusterType) -> RetCodePacket {
    let tag = match kind {
        // Relays ask for routes on their native sessions (CONTENT_ADD with
        // RELAY), where the parent checks the tree.
        ClusterType::RouteAdd | ClusterType::RouteDel => tags::ROUTE_BY_RELAY_SESSION,
        _ => tags::NOT_SUPPORTED,
    };
    refuse(RetCode::ClusterWrongRequest, tag)
}
