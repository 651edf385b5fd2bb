//! The store conformance suite: the behaviour every backend must have, written once.
//!
//! Each case is a plain `pub async fn case(store: Arc<dyn Store>)` that builds a
//! [`Helpdesk`] over a fresh, empty store and checks what a user of the library would
//! notice (through the public API), or the store contract itself where it is store-level
//! (cursors, version checks, delivery claims, event order). A backend runs all of them
//! with one line:
//!
//! ```no_run
//! helpdesk_core::store_conformance!(|| async {
//!     std::sync::Arc::new(helpdesk_core::store::memory::MemoryStore::new())
//!         as std::sync::Arc<dyn helpdesk_core::store::Store>
//! });
//! ```
//!
//! The factory is called once per case and may return an `Arc<dyn Store>`, a
//! [`TestStore`] (a store with a guard kept alive for the case, e.g. a `TempDir`), an
//! `Option` of either (`None`: skip) or a `Result<_, Skip>` (skip with a reason, e.g.
//! PostgreSQL without `HELPDESK_TEST_DATABASE_URL`). Skipped cases print
//! `skipped: <reason>` and pass.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;

use crate::clock::ManualClock;
use crate::conversation::{ConversationKind, NewConversation};
use crate::message::{MessageView, NewMessage};
use crate::store::Store;
use crate::ticket::{NewTicket, Ticket};
use crate::user::{NewUser, User};
use crate::{Config, Helpdesk, Principal, Role};

pub mod access;
pub mod apikeys;
pub mod archive;
pub mod attachments;
pub mod calendars;
pub mod canned_replies;
pub mod cc;
pub mod concurrency;
pub mod conversations;
pub mod csat;
pub mod email;
pub mod ephemeral;
pub mod events;
pub mod fields;
pub mod groups;
pub mod kb;
pub mod limits;
pub mod macros;
pub mod mailbox_secrets;
pub mod mailboxes;
pub mod matrix;
pub mod merge;
pub mod messages;
pub mod model;
pub mod notifications;
pub mod organizations;
pub mod receipts;
pub mod receipts_v2;
pub mod retention;
pub mod rules;
pub mod schema;
pub mod sla;
pub mod snooze;
pub mod statuses;
pub mod text;
pub mod tickets;
pub mod users;
pub mod views;
pub mod webhooks;

/// A fresh store for one case, with whatever must live as long as it (a temporary
/// directory, a database handle to drop afterwards).
pub struct TestStore {
    /// The store under test.
    pub store: Arc<dyn Store>,
    _guard: Option<Box<dyn Any + Send>>,
}

impl TestStore {
    /// A store that needs no guard.
    pub fn new(store: Arc<dyn Store>) -> Self {
        TestStore {
            store,
            _guard: None,
        }
    }
    /// A store with a guard dropped after the case.
    pub fn with_guard(store: Arc<dyn Store>, guard: impl Any + Send) -> Self {
        TestStore {
            store,
            _guard: Some(Box::new(guard)),
        }
    }
}

/// Why a backend skips the suite (printed as `skipped: <reason>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

/// What a conformance factory may return.
pub trait IntoTestStore {
    /// The store for one case, or why the case is skipped.
    fn into_test_store(self) -> Result<TestStore, Skip>;
}

impl IntoTestStore for TestStore {
    fn into_test_store(self) -> Result<TestStore, Skip> {
        Ok(self)
    }
}

impl IntoTestStore for Arc<dyn Store> {
    fn into_test_store(self) -> Result<TestStore, Skip> {
        Ok(TestStore::new(self))
    }
}

impl<T: IntoTestStore> IntoTestStore for Option<T> {
    fn into_test_store(self) -> Result<TestStore, Skip> {
        match self {
            Some(t) => t.into_test_store(),
            None => Err(Skip("the factory provided no store".into())),
        }
    }
}

impl<T: IntoTestStore> IntoTestStore for Result<T, Skip> {
    fn into_test_store(self) -> Result<TestStore, Skip> {
        self.and_then(IntoTestStore::into_test_store)
    }
}

/// Runs one case on a two-worker multi-thread runtime (real parallelism for the
/// concurrency cases) over a store from `factory`. Used by [`crate::store_conformance`].
pub fn run<F, Fut, T, C, CFut>(factory: F, case: C)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = T>,
    T: IntoTestStore,
    C: FnOnce(Arc<dyn Store>) -> CFut,
    CFut: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async move {
        match factory().await.into_test_store() {
            Err(Skip(reason)) => println!("skipped: {reason}"),
            Ok(ts) => {
                case(ts.store.clone()).await;
                drop(ts);
            }
        }
    });
}

/// Expands to one `#[test]` per conformance case, each over a fresh store from the
/// factory expression (an `Fn() -> impl Future<Output = impl IntoTestStore>`).
/// The factory is evaluated inside nested modules that `use super::*`, so it may name
/// items of the invoking module.
#[macro_export]
macro_rules! store_conformance {
    ($factory:expr $(,)?) => {
        $crate::__conformance_cases!($factory);
    };
}

/// Emits the tests of [`store_conformance`] for one module of cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($factory:expr; $( $module:ident { $($case:ident),* $(,)? } )*) => {
        $(
            #[allow(non_snake_case, unused_imports)]
            mod $module {
                use super::*;
                $(
                    #[test]
                    fn $case() {
                        $crate::testkit::run($factory, $crate::testkit::$module::$case);
                    }
                )*
            }
        )*
    };
}

/// A fresh store for the suite's own use, in tests of this crate.
pub fn memory() -> Arc<dyn Store> {
    Arc::new(crate::store::memory::MemoryStore::new())
}

/// The password of every user the suite creates.
pub const PASSWORD: &str = "correct horse battery";

/// Fails unless the result is the given error pattern.
#[macro_export]
#[doc(hidden)]
macro_rules! expect_err {
    ($e:expr, $p:pat $(if $guard:expr)? $(,)?) => {
        match $e {
            Err($p) $(if $guard)? => {}
            other => panic!(
                "expected Err({}), got {:?} at {}:{}",
                stringify!($p),
                other,
                file!(),
                line!()
            ),
        }
    };
}
pub use crate::expect_err;

/// A user made by the suite, with its principal.
#[derive(Debug, Clone)]
pub struct Who {
    /// The account.
    pub user: User,
    /// Acting as them, outside any session.
    pub p: Principal,
}

impl Who {
    /// Their id.
    pub fn id(&self) -> Uuid {
        self.user.id
    }
    /// Their email.
    pub fn email(&self) -> &str {
        &self.user.email
    }
}

/// A helpdesk over the store under test with a manual clock, and helpers to populate it.
pub struct World {
    /// The library.
    pub hd: Helpdesk,
    /// Its clock, standing still until moved.
    pub clock: Arc<ManualClock>,
    /// The store.
    pub store: Arc<dyn Store>,
    counter: AtomicU64,
}

impl World {
    /// A helpdesk with [`Config::for_tests`] over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        World::with_config(store, Config::for_tests())
    }

    /// A helpdesk with `config` over `store`.
    pub fn with_config(store: Arc<dyn Store>, config: Config) -> Self {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2025, 1, 1, 9, 0, 0).unwrap(),
        ));
        World {
            hd: Helpdesk::with_clock(store.clone(), config, clock.clone()),
            clock,
            store,
            counter: AtomicU64::new(0),
        }
    }

    /// Moves the clock one second on (so the next change sorts after the last).
    pub fn tick(&self) {
        self.clock.advance(Duration::seconds(1));
    }

    /// Moves the clock on.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// A new user with this role.
    pub async fn user(&self, role: Role) -> Who {
        let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let email = format!("{}{n}@example.com", role.as_str());
        let name = format!("{} {n}", role.as_str());
        let user = self
            .hd
            .create_user(
                &Principal::system(),
                NewUser::new(&email, &name, role, PASSWORD),
            )
            .await
            .expect("create user");
        Who {
            p: Principal::user(user.id, user.role),
            user,
        }
    }

    /// A new customer.
    pub async fn customer(&self) -> Who {
        self.user(Role::Customer).await
    }
    /// A new agent.
    pub async fn agent(&self) -> Who {
        self.user(Role::Agent).await
    }
    /// A new admin.
    pub async fn admin(&self) -> Who {
        self.user(Role::Admin).await
    }

    /// A ticket opened by `who`.
    pub async fn ticket(&self, who: &Who, subject: &str) -> Ticket {
        self.hd
            .create_ticket(&who.p, NewTicket::new(subject, "Details."))
            .await
            .expect("create ticket")
    }

    /// The direct conversation of two users, started by `a`.
    pub async fn direct(&self, a: &Who, b: &Who) -> Uuid {
        self.hd
            .create_conversation(
                &a.p,
                NewConversation {
                    kind: ConversationKind::Direct,
                    title: None,
                    member_ids: vec![b.id()],
                },
            )
            .await
            .expect("create direct conversation")
            .0
            .conversation
            .id
    }

    /// A group started by `creator` with `others`.
    pub async fn group(&self, creator: &Who, others: &[&Who], title: &str) -> Uuid {
        self.hd
            .create_conversation(
                &creator.p,
                NewConversation {
                    kind: ConversationKind::Group,
                    title: Some(title.to_string()),
                    member_ids: others.iter().map(|w| w.id()).collect(),
                },
            )
            .await
            .expect("create group")
            .0
            .conversation
            .id
    }

    /// Sends a text message.
    pub async fn send(&self, who: &Who, conversation_id: Uuid, text: &str) -> MessageView {
        self.hd
            .send_message(&who.p, conversation_id, NewMessage::text(text))
            .await
            .expect("send message")
    }

    /// Sends an internal note.
    pub async fn note(&self, who: &Who, conversation_id: Uuid, text: &str) -> MessageView {
        self.hd
            .send_message(
                &who.p,
                conversation_id,
                NewMessage {
                    content: text.to_string(),
                    internal: true,
                    ..Default::default()
                },
            )
            .await
            .expect("send internal note")
    }

    /// Every event in the log.
    pub async fn events(&self) -> Vec<crate::event::Event> {
        self.store
            .events_after(None, usize::MAX / 2)
            .await
            .expect("events")
    }

    /// The kinds of the events after `after`.
    pub async fn event_kinds_after(&self, after: Option<crate::event::EventId>) -> Vec<String> {
        self.store
            .events_after(after, 100_000)
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.kind.to_string())
            .collect()
    }

    /// The newest event id.
    pub async fn last_event(&self) -> Option<crate::event::EventId> {
        self.store.last_event_id().await.expect("last event id")
    }

    /// The data of every event of `kind`, oldest first.
    pub async fn event_data(&self, kind: crate::event::EventKind) -> Vec<serde_json::Value> {
        self.events()
            .await
            .into_iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.data)
            .collect()
    }

    /// How many notifications of `kind` `who` has.
    pub async fn notified(&self, who: &Who, kind: crate::notification::NotificationKind) -> usize {
        let filter = crate::notification::NotificationFilter::default();
        let list = self.hd.list_notifications(&who.p, filter).await;
        let items = list.expect("notifications").page.items;
        items.iter().filter(|n| n.kind == kind).count()
    }

    /// Moves a ticket, as `who`, to its category's default status.
    pub async fn set_category(
        &self,
        who: &Who,
        t: &Ticket,
        category: crate::status::StatusCategory,
    ) -> Ticket {
        let patch = crate::ticket::TicketPatch {
            status: Some(category.into()),
            ..Default::default()
        };
        self.hd
            .update_ticket(&who.p, t.id, patch)
            .await
            .expect("status move")
    }
}

/// Every conformance case, by module. The single list [`store_conformance`] expands.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($factory:expr) => {
        $crate::__conformance_tests! { $factory;
            users {
                create_user_round_trip,
                email_unique_case_insensitive,
                concurrent_duplicate_signups_one_wins,
                signup_creates_customer_and_logs_in,
                signup_closed_is_forbidden,
                invalid_input_stores_nothing,
                login_with_right_password,
                wrong_password_and_unknown_email_fail_alike,
                deactivated_user_cannot_log_in_and_tokens_stop,
                password_change_ends_other_sessions,
                password_change_needs_current_password,
                email_notifications_are_the_users_own_choice,
                refresh_rotates_tokens,
                reused_refresh_token_revokes_family,
                forged_refresh_token_leaves_session_alone,
                outside_authentication_gets_verified_principals_and_tokens,
                user_without_password_signs_in_only_from_outside,
                stale_principal_cannot_administer,
                logout_ends_only_that_session,
                live_session_user_only_for_live_sessions,
                access_token_expires_by_clock,
                refresh_token_expires_by_clock,
                role_change_applies_to_existing_tokens,
                list_users_filters_and_pages,
                list_users_is_staff_only,
                generated_jwt_secret_is_kept_in_store,
                store_rotate_refresh_checks_hash_and_revocation,
                store_update_user_email_conflict,
                store_get_users_returns_those_that_exist,
            }
            apikeys {
                keys_are_made_listed_used_and_deleted,
                who_may_manage_whose_keys,
                new_keys_are_validated,
                at_most_fifty_keys_expired_included,
                store_key_limit_holds_under_concurrency,
                store_api_keys_round_trip,
                bad_unknown_and_expired_keys_are_refused,
                owners_deactivation_and_demotion,
                last_use_is_recorded_once_a_minute,
                keys_cannot_log_out_or_change_the_profile,
                rights_are_scopes_within_the_owners_role,
                events_and_typing_follow_the_scopes,
                service_accounts,
                requests_per_key_are_limited_per_instance,
            }
            access {
                a_second_group_isolates_its_tickets,
                levels_limit_what_staff_do,
                ticket_events_and_notifications_follow_the_group,
                new_tickets_follow_the_default_group_at_once,
                losing_access_hides_the_ticket_everywhere,
                revocation_reaches_every_instance_within_the_ttl,
                moving_a_ticket_hands_it_to_the_other_group,
                customers_never_see_the_group_in_events,
                losing_full_access_unassigns,
                presence_contacts_follow_access,
            }
            matrix {
                authorization_matrix,
            }
            cc {
                a_cc_is_a_member_with_the_requesters_rights,
                cc_rules,
                a_removed_cc_loses_access_at_once,
                followers_hear_of_the_ticket_and_stay_hidden,
                losing_access_unfollows,
                store_update_ticket_leaves_atomically,
            }
            ephemeral {
                signals_reach_every_subscriber,
                typing_reaches_members_on_another_instance,
                presence_counts_sockets_on_every_instance,
                a_silent_or_departing_instance_takes_its_users_offline,
                typing_skips_members_who_lost_access,
            }
            limits {
                failed_logins_are_limited_per_email_and_client,
                failed_login_counts_are_shared_through_the_store,
                failed_logins_are_limited_per_email_and_per_client,
                wrong_current_passwords_are_limited,
                signups_are_limited_per_client,
                store_attempts_count_and_forget,
            }
            text {
                control_characters_are_refused_on_every_path,
                tab_newline_return_and_other_characters_round_trip,
            }
            tickets {
                numbers_are_sequential,
                concurrent_creators_get_unique_gapless_numbers,
                every_allowed_status_move_succeeds,
                every_forbidden_status_move_is_invalid_transition,
                same_status_is_not_a_change,
                requester_may_resolve_reopen_and_close,
                requester_may_not_set_staff_statuses,
                requester_may_not_set_staff_fields,
                customer_may_not_name_requester_or_assignee,
                resolved_and_closed_timestamps,
                first_response_at_set_by_first_public_staff_message,
                requester_message_reopens_pending_and_resolved,
                staff_message_does_not_reopen,
                closed_ticket_refuses_messages,
                timeline_records_every_kind,
                timeline_pages_oldest_first,
                filter_by_statuses,
                filter_by_priority,
                filter_by_assignee_and_nobody,
                filter_by_requester,
                filter_by_tag,
                filter_by_text,
                every_sort_order,
                cursor_walk_sees_each_ticket_once_despite_inserts,
                customers_see_only_their_own,
                delete_is_admin_only_and_removes_conversation,
                validation_and_tag_normalisation,
                assignee_joins_ticket_conversation,
                store_update_ticket_checks_version,
                store_update_ticket_joins_atomically,
                concurrent_updates_lose_nothing,
            }
            conversations {
                direct_is_idempotent,
                concurrent_direct_creation_makes_one,
                group_has_title_and_members,
                input_validation,
                rename_by_members_only,
                add_member_rules,
                leaving_a_group,
                creator_removes_others,
                customer_to_customer_is_forbidden,
                staff_read_ticket_conversations,
                list_by_latest_activity,
                kind_filter,
                list_pages_without_repeats,
                large_groups_keep_their_place,
                view_has_last_message_and_unread,
                store_direct_key_is_unique,
                store_conversation_as_reads_the_participant,
            }
            messages {
                seq_counts_from_one,
                concurrent_senders_get_gapless_seqs,
                send_after_writes_since_its_check,
                replies_nest_to_any_depth,
                parent_in_other_conversation_is_invalid,
                internal_notes_hidden_from_customers_in_lists,
                internal_notes_hidden_from_customers_in_get_and_thread,
                public_reply_to_an_internal_note_is_refused,
                internal_notes_hidden_from_customers_in_counts,
                internal_notes_hidden_from_customers_in_events,
                internal_replies_not_counted_for_customers,
                internal_replies_not_counted_in_events,
                archive_without_internal_reply_counts_imports_them,
                internal_notes_are_staff_and_ticket_only,
                edit_by_sender_only,
                delete_keeps_place,
                pages_latest_then_older,
                pages_after_then_newer,
                pages_before_and_after_a_message,
                customer_pages_skip_internal_notes_without_gaps,
                attachments_by_uploader_only,
                content_validation,
                non_members_cannot_post,
                staff_posting_on_ticket_joins,
                store_message_lookup_respects_conversation,
                message_created_event_payload,
            }
            receipts {
                is_read_is_per_caller,
                own_messages_are_read,
                mark_one_and_gap_closing,
                mark_all_read,
                read_up_to_never_goes_backwards,
                marks_are_idempotent,
                unread_overview_per_conversation_and_total,
                invisible_messages_count_as_read,
                status_sent_delivered_read,
                status_waits_for_every_group_member,
                last_message_in_list_is_not_delivery,
                receipts_list_times,
                receipts_visible_to_sender_and_staff_only,
                many_messages_read_up_to_and_all,
                concurrent_marks_only_move_forward,
                joining_late_reads_history,
                mark_read_emits_event,
                internal_note_status_counts_staff_only,
                pushed_deliveries_are_recorded_together,
            }
            receipts_v2 {
                read_receipts_default_public_and_self_set,
                a_new_mode_applies_to_the_next_read,
                private_reads_stay_with_the_reader,
                switching_back_does_not_publish_old_reads,
                unread_from_moves_only_the_private_state_back,
                unread_from_takes_the_minimum,
                unread_from_keeps_own_messages_read,
                unread_from_not_found,
                message_unread_is_not_subscribable,
                archive_carries_both_read_states,
            }
            notifications {
                ticket_created_goes_to_staff,
                assigned_ticket_notifies_assignee,
                assignment_change_notifies_new_assignee,
                status_change_notifies_requester_and_assignee,
                ticket_message_notifies_requester_and_assignee,
                internal_note_does_not_notify_requester,
                reply_notifies_parent_author,
                mention_by_email,
                unread_count_and_filter,
                mark_one_and_others_not_found,
                mark_all,
                list_newest_first_and_pages,
                notification_event_written_with_it,
            }
            kb {
                slug_from_title,
                slug_suffixes,
                explicit_taken_slug_is_refused,
                get_by_id_or_slug,
                drafts_hidden_from_customers_and_anonymous,
                list_filters_and_pages,
                tag_counts,
                search_matches_word_forms,
                search_ranks_title_above_body,
                search_snippet_is_escaped_and_marked,
                search_tag_filter_and_drafts,
                editing_is_staff_only,
                publishing_sets_published_at,
                slug_validation,
                searches_follow_article_writes_on_every_instance,
            }
            attachments {
                round_trip_several_mib,
                over_limit_keeps_nothing,
                ticket_attachment_visibility,
                message_attachment_visibility,
                unattached_only_for_uploader,
                unattached_swept_after_a_day,
                filename_is_sanitised,
                empty_file,
                store_blob_chunks,
                bytes_in_and_out,
            }
            events {
                changes_append_events_with_increasing_ids,
                message_event_and_notification_together,
                events_after_resumes_without_gaps,
                concurrent_writers_ordered_log,
                subscribe_receives_live_events,
                may_see_hides_internal_notes,
                receipt_news_goes_to_the_senders,
                removed_member_stops_seeing_group,
                ticket_events_visible_to_requester_and_staff,
                notification_events_only_to_recipient,
                event_id_string_order,
                subscribe_as_keeps_to_what_the_user_may_see,
            }
            retention {
                pruning_keeps_the_window_and_what_deliveries_send,
                pruning_drops_old_read_notifications,
            }
            webhooks {
                deliveries_for_matching_active_endpoints,
                only_webhook_event_goes_to_one_endpoint,
                claim_respects_due_time_and_status,
                claim_lease_hides_delivery,
                concurrent_claimers_never_share,
                update_get_and_list_deliveries,
                delete_webhook_removes_deliveries,
                list_webhooks_in_creation_order,
            }
            groups {
                store_starts_with_the_default_group,
                store_default_group_members_as_read_apart,
                names_are_unique_and_groups_listed_by_name,
                default_flag_moves_and_deletion_rules,
                staff_join_the_default_group,
                memberships_put_and_remove,
                group_events,
                tickets_belong_to_a_group,
            }
            organizations {
                names_are_unique_case_insensitively,
                domains_are_checked_and_unique,
                new_customers_join_by_their_exact_domain,
                free_mail_domains_never_match,
                user_organization_fields_follow_the_rules,
                deleting_frees_its_users_and_tickets,
                deleting_while_customers_join_leaves_no_stray_member,
                list_filters_and_pages_by_name,
                customers_see_only_their_own,
                organization_events,
            }
            canned_replies {
                scopes_decide_who_uses_a_reply,
                scopes_decide_who_writes_a_reply,
                input_is_checked,
                shortcuts_are_unique_across_scopes,
                limits_per_owner_and_global,
                store_limits_hold_under_concurrency,
                list_filters_orders_and_pages,
                render_fills_placeholders,
                groups_holding_canned_replies_are_in_use,
                store_canned_replies_round_trip,
            }
            fields {
                field_definitions_are_checked,
                ticket_values_are_checked,
                required_fields,
                deactivated_and_used_fields,
                list_filters_by_field,
                hidden_fields_stay_out_of_customer_events,
            }
            schema {
                schema_stamp_moves_with_every_schema_write,
                schema_changes_reach_every_instance_at_once,
            }
            statuses {
                store_starts_with_the_default_statuses,
                status_input_is_checked,
                statuses_per_category_are_limited,
                tickets_move_by_category,
                requesters_name_default_statuses,
                inactive_and_used_statuses,
                list_filters_by_status_and_category,
            }
            views {
                view_scopes_decide_use_and_write,
                view_input_is_checked,
                view_limits_per_owner_and_global,
                groups_holding_views_are_in_use,
                store_views_round_trip,
                view_tickets_respect_visibility_sort_and_cursor,
                view_tickets_agree_with_the_evaluator,
            }
            merge {
                merge_closes_the_source_and_lists_it_on_the_target,
                merge_refusals,
                merge_chains_and_unmerge,
                include_merged_pages_across_the_chain,
                deleting_a_ticket_clears_merge_references,
                merges_survive_an_archive_round_trip,
            }
            macros {
                macro_crud_rules_and_input,
                store_macros_round_trip_and_limit,
                macro_actions_take_effect,
                macro_runs_all_or_nothing,
                applying_needs_full_access,
                macro_runs_carry_via,
                bulk_reports_each_ticket,
            }
            sla {
                sla_policy_crud_and_input,
                first_response_warns_breaches_and_fulfils,
                resolution_pauses_and_counts_on_after_a_reopen,
                a_policy_change_keeps_paused_minutes,
                next_response_cycles,
                policies_are_chosen_by_condition_and_order,
                sla_filters_and_orders,
                breaches_fire_once_across_instances,
                calendar_targets_count_business_minutes,
                breaches_and_wakes_run_triggers,
            }
            snooze {
                snooze_rules_and_input,
                snooze_wakes_at_its_time_once,
                snooze_wakes_on_a_customer_reply,
                resolving_or_merging_ends_a_snooze,
                snoozed_filter_is_staff_only,
                due_items_fire_once_across_instances,
            }
            mailboxes {
                mailbox_crud_and_rights,
                mailbox_input_problems_at_their_fields,
                mailbox_address_unique_case_insensitively,
                one_default_mailbox,
            }
            mailbox_secrets {
                mailbox_patch_replaces_parts_and_keeps_secrets,
                raw_secret_rotates_with_a_day_of_grace,
                imap_state_is_its_own_write,
                imap_lease_has_one_holder,
                mailboxes_survive_an_archive_round_trip,
            }
            email {
                inbound_records_are_written_with_their_change,
                inbound_records_list_newest_first_in_pages,
                duplicate_mail_writes_nothing,
                message_ids_and_ticket_mail,
                outbox_claims_updates_and_lists,
                concurrent_outbox_claimers_never_share,
                auto_replies_are_counted_per_address,
                suppressions_and_bounces,
                tickets_carry_their_mail_fields,
                mail_survives_an_archive_round_trip,
            }
            calendars {
                calendar_crud_rules_and_input,
                calendar_limit,
                store_calendars_round_trip_and_limit,
                calendar_previews,
                calendars_survive_an_archive_round_trip,
            }
            csat {
                one_survey_per_resolution,
                no_survey_for_staff_requesters_or_when_off,
                survey_credits_the_assignee_and_group_of_the_resolve,
                answers_until_expiry_the_last_winning,
                report_counts_rounds_and_orders,
                surveys_leave_with_their_ticket,
            }
            rules {
                rule_crud_rights_and_input,
                triggers_run_on_each_event,
                triggers_run_on_every_ticket_change,
                triggers_run_in_order_as_the_system,
                rule_messages_have_no_sender,
                failing_steps_are_recorded,
                loop_guards_stop_chains,
                automations_are_edge_triggered,
                automations_count_matching_tickets_when_made,
                automations_at_time_instants,
                dry_runs_store_nothing,
                store_rules_runs_and_edge_state,
            }
            archive {
                export_round_trips_through_memory,
                import_then_export_is_identity,
                store_export_pages_resume_after_a_record,
                imported_store_keeps_working,
                import_refuses_non_empty_store,
                bad_archives_fail_clearly,
                import_applies_the_text_rule,
            }
            concurrency {
                concurrent_sends_and_marks_stay_consistent,
                concurrent_group_joins,
                concurrent_ticket_creation_and_listing,
                concurrent_notification_marks,
                concurrent_refreshes_one_wins,
                concurrent_status_moves_follow_table,
            }
        }
    };
}
