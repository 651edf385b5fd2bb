//! The ephemeral channel's model: signals that reach every instance sharing a store
//! without being logged (typing, presence, instance heartbeats), and the [`Roster`] of
//! who is online on which live instance.
//!
//! Each instance picks a random id when it joins. A user is online while any socket of
//! theirs is open on a live instance; an instance is live while it is heard from (it
//! beats every heartbeat; one silent for three is gone, and its users with it unless
//! they are connected elsewhere). A starting instance says `Hello` and the others answer
//! with the users online on them, so it learns who is online first.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The most users one [`Signal::Online`] names, so that a signal stays far below
/// PostgreSQL's 8,000-byte `NOTIFY` payload.
pub const ONLINE_CHUNK: usize = 100;

/// One signal on the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum Signal {
    /// `user_id` is typing in `conversation_id` (already checked: they may read it).
    Typing {
        /// The conversation.
        conversation_id: Uuid,
        /// Who types.
        user_id: Uuid,
    },
    /// `user_id`'s first socket on `instance` opened (`online`), or their last closed.
    Presence {
        /// Where.
        instance: Uuid,
        /// Who.
        user_id: Uuid,
        /// Opened or closed.
        online: bool,
    },
    /// `instance` is alive.
    Beat {
        /// Who beats.
        instance: Uuid,
    },
    /// `instance` joined (or lost track) and asks every instance who is online on it.
    Hello {
        /// Who asks.
        instance: Uuid,
    },
    /// Users online on `instance` (an answer to a `Hello`, in chunks of
    /// [`ONLINE_CHUNK`]).
    Online {
        /// Where.
        instance: Uuid,
        /// Who.
        users: Vec<Uuid>,
    },
    /// `instance` is shutting down: its users are gone with it.
    Gone {
        /// Who leaves.
        instance: Uuid,
    },
}

/// A user came online (their first socket on any live instance) or went offline (their
/// last socket closed, or the last instance they were on went away).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceChange {
    /// Who.
    pub user_id: Uuid,
    /// Online now, or offline now.
    pub online: bool,
}

/// What a signal heard on the channel changes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Heard {
    /// Users whose presence changed.
    pub changes: Vec<PresenceChange>,
    /// Signals to publish in answer.
    pub replies: Vec<Signal>,
}

/// Who is online where, as one instance knows it: its own users counted by socket (they
/// never expire), the others' as announced, until their instance goes silent.
#[derive(Debug)]
pub struct Roster {
    me: Uuid,
    local: HashMap<Uuid, usize>,
    remote: HashMap<Uuid, Remote>,
}

#[derive(Debug)]
struct Remote {
    heard: DateTime<Utc>,
    users: HashSet<Uuid>,
}

impl Roster {
    /// The roster of instance `me`, knowing nobody yet.
    pub fn new(me: Uuid) -> Self {
        Roster {
            me,
            local: HashMap::new(),
            remote: HashMap::new(),
        }
    }

    /// This instance's id.
    pub fn me(&self) -> Uuid {
        self.me
    }

    /// Whether `user_id` has a socket open on a live instance.
    pub fn is_online(&self, user_id: Uuid) -> bool {
        self.local.contains_key(&user_id)
            || self.remote.values().any(|r| r.users.contains(&user_id))
    }

    /// Whether `user_id` has a socket open on this instance.
    pub fn is_local(&self, user_id: Uuid) -> bool {
        self.local.contains_key(&user_id)
    }

    /// A socket of `user_id` opened here: the signal to publish when it is their first
    /// here, and the change when it is their first anywhere.
    pub fn opened(&mut self, user_id: Uuid) -> (Option<Signal>, Option<PresenceChange>) {
        let was_online = self.is_online(user_id);
        let sockets = self.local.entry(user_id).or_insert(0);
        *sockets += 1;
        let signal = (*sockets == 1).then_some(Signal::Presence {
            instance: self.me,
            user_id,
            online: true,
        });
        let change = (!was_online).then_some(PresenceChange {
            user_id,
            online: true,
        });
        (signal, change)
    }

    /// A socket of `user_id` closed here: the signal to publish when it was their last
    /// here, and the change when it was their last anywhere.
    pub fn closed(&mut self, user_id: Uuid) -> (Option<Signal>, Option<PresenceChange>) {
        let Some(sockets) = self.local.get_mut(&user_id) else {
            return (None, None);
        };
        *sockets -= 1;
        if *sockets > 0 {
            return (None, None);
        }
        self.local.remove(&user_id);
        let signal = Signal::Presence {
            instance: self.me,
            user_id,
            online: false,
        };
        let change = (!self.is_online(user_id)).then_some(PresenceChange {
            user_id,
            online: false,
        });
        (Some(signal), change)
    }

    /// The signals that tell the others who is online here, in chunks.
    pub fn online_here(&self) -> Vec<Signal> {
        let users: Vec<Uuid> = self.local.keys().copied().collect();
        users
            .chunks(ONLINE_CHUNK)
            .map(|chunk| Signal::Online {
                instance: self.me,
                users: chunk.to_vec(),
            })
            .collect()
    }

    /// Applies a signal heard at `now`. This instance's own signals change nothing
    /// (its users are counted by [`Roster::opened`] and [`Roster::closed`]); typing is
    /// not the roster's business.
    pub fn heard(&mut self, signal: &Signal, now: DateTime<Utc>) -> Heard {
        let mut heard = Heard::default();
        let instance = match signal {
            Signal::Typing { .. } => return heard,
            Signal::Presence { instance, .. }
            | Signal::Beat { instance }
            | Signal::Hello { instance }
            | Signal::Online { instance, .. }
            | Signal::Gone { instance } => *instance,
        };
        if instance == self.me {
            return heard;
        }
        if let Signal::Gone { .. } = signal {
            if let Some(gone) = self.remote.remove(&instance) {
                heard.changes = self.offline_unless_elsewhere(gone.users);
            }
            return heard;
        }
        let known = self.remote.contains_key(&instance);
        let remote = self.remote.entry(instance).or_insert_with(|| Remote {
            heard: now,
            users: HashSet::new(),
        });
        remote.heard = now;
        match signal {
            Signal::Presence {
                user_id, online, ..
            } => {
                let user_id = *user_id;
                let before = self.is_online(user_id);
                let remote = self.remote.get_mut(&instance).expect("just inserted");
                if *online {
                    remote.users.insert(user_id);
                } else {
                    remote.users.remove(&user_id);
                }
                let after = self.is_online(user_id);
                if before != after {
                    heard.changes.push(PresenceChange {
                        user_id,
                        online: after,
                    });
                }
            }
            Signal::Online { users, .. } => {
                for &user_id in users {
                    let before = self.is_online(user_id);
                    let remote = self.remote.get_mut(&instance).expect("just inserted");
                    remote.users.insert(user_id);
                    if !before {
                        heard.changes.push(PresenceChange {
                            user_id,
                            online: true,
                        });
                    }
                }
            }
            Signal::Hello { .. } => heard.replies = self.online_here(),
            // An instance beating that we did not know (we missed its hello, or took it
            // for gone): ask everyone who is online.
            Signal::Beat { .. } if !known => {
                heard.replies.push(Signal::Hello { instance: self.me })
            }
            _ => {}
        }
        heard
    }

    /// Forgets the instances not heard from since `deadline`: their users go offline
    /// unless connected elsewhere.
    pub fn expire(&mut self, deadline: DateTime<Utc>) -> Vec<PresenceChange> {
        let silent: Vec<Uuid> = self
            .remote
            .iter()
            .filter(|(_, r)| r.heard < deadline)
            .map(|(id, _)| *id)
            .collect();
        let mut users = HashSet::new();
        for id in silent {
            if let Some(gone) = self.remote.remove(&id) {
                users.extend(gone.users);
            }
        }
        self.offline_unless_elsewhere(users)
    }

    fn offline_unless_elsewhere(&self, users: HashSet<Uuid>) -> Vec<PresenceChange> {
        users
            .into_iter()
            .filter(|u| !self.is_online(*u))
            .map(|user_id| PresenceChange {
                user_id,
                online: false,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn online(user_id: Uuid) -> PresenceChange {
        PresenceChange {
            user_id,
            online: true,
        }
    }

    fn offline(user_id: Uuid) -> PresenceChange {
        PresenceChange {
            user_id,
            online: false,
        }
    }

    #[test]
    fn first_and_last_socket_here_change_presence_once() {
        let mut r = Roster::new(Uuid::now_v7());
        let u = Uuid::now_v7();
        let (signal, change) = r.opened(u);
        assert!(matches!(
            signal,
            Some(Signal::Presence { online: true, .. })
        ));
        assert_eq!(change, Some(online(u)));
        assert_eq!(r.opened(u), (None, None));
        assert_eq!(r.closed(u), (None, None));
        let (signal, change) = r.closed(u);
        assert!(matches!(
            signal,
            Some(Signal::Presence { online: false, .. })
        ));
        assert_eq!(change, Some(offline(u)));
        assert_eq!(r.closed(u), (None, None), "closing more than opened");
    }

    #[test]
    fn a_user_on_two_instances_is_online_until_the_last_socket_anywhere_closes() {
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        let mut r = Roster::new(me);
        let u = Uuid::now_v7();
        let there = |online| Signal::Presence {
            instance: other,
            user_id: u,
            online,
        };
        assert_eq!(r.heard(&there(true), at(0)).changes, vec![online(u)]);
        assert_eq!(r.opened(u).1, None, "already online elsewhere");
        assert_eq!(r.heard(&there(false), at(1)).changes, vec![]);
        assert!(r.is_online(u));
        assert_eq!(r.closed(u).1, Some(offline(u)));
    }

    #[test]
    fn a_silent_instance_takes_its_users_offline_unless_they_are_elsewhere() {
        let me = Uuid::now_v7();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut r = Roster::new(me);
        let (only_a, both) = (Uuid::now_v7(), Uuid::now_v7());
        r.heard(
            &Signal::Online {
                instance: a,
                users: vec![only_a, both],
            },
            at(0),
        );
        r.heard(
            &Signal::Online {
                instance: b,
                users: vec![both],
            },
            at(0),
        );
        r.heard(&Signal::Beat { instance: b }, at(25));
        let mut gone = r.expire(at(30) - Duration::seconds(10));
        gone.sort_by_key(|c| c.user_id);
        assert_eq!(gone, vec![offline(only_a)]);
        assert!(r.is_online(both));
        assert_eq!(
            r.heard(&Signal::Gone { instance: b }, at(31)).changes,
            vec![offline(both)]
        );
    }

    #[test]
    fn hello_is_answered_with_the_users_here_in_chunks() {
        let me = Uuid::now_v7();
        let mut r = Roster::new(me);
        for _ in 0..(ONLINE_CHUNK + 1) {
            r.opened(Uuid::now_v7());
        }
        let replies = r
            .heard(
                &Signal::Hello {
                    instance: Uuid::now_v7(),
                },
                at(0),
            )
            .replies;
        let sizes: Vec<usize> = replies
            .iter()
            .map(|s| match s {
                Signal::Online { users, .. } => users.len(),
                other => panic!("not an answer: {other:?}"),
            })
            .collect();
        assert_eq!(sizes.iter().sum::<usize>(), ONLINE_CHUNK + 1);
        assert!(sizes.iter().all(|n| *n <= ONLINE_CHUNK));
        let biggest = serde_json::to_string(&replies[0]).unwrap();
        assert!(biggest.len() < 8000, "{} bytes", biggest.len());
    }

    #[test]
    fn an_unknown_instance_beating_makes_us_ask_who_is_online() {
        let me = Uuid::now_v7();
        let mut r = Roster::new(me);
        let other = Uuid::now_v7();
        assert_eq!(
            r.heard(&Signal::Beat { instance: other }, at(0)).replies,
            vec![Signal::Hello { instance: me }]
        );
        assert!(
            r.heard(&Signal::Beat { instance: other }, at(1))
                .replies
                .is_empty()
        );
        assert_eq!(
            r.heard(&Signal::Beat { instance: me }, at(1)),
            Heard::default()
        );
    }
}
