"""What each source takes of an export, and what stays on the contributor's machine.

Only public, self-authored content leaves the machine, plus the few fields that prove the
account: the web form and `datadao contribute` build the upload from these lists (the
service publishes them in its config), and the validators refuse an upload that carries
anything else, naming it. Files an export holds beside these (messages, chats, IP logs,
contact and payment details) are never uploaded, and their absence is not a failure.

Plain data and small functions only: the client reads it without loading the validators.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from validators.exceptions import ExportRejected


@dataclass(frozen=True)
class Selection:
    """One source's rules: which files of an export are taken (exact names or patterns),
    which fields of a JSON file are kept, and why each known private file stays home."""

    source: str
    markers: tuple[str, ...]  # an archive holding any of these entries is of this source
    taken: tuple[str, ...]  # regular expressions over an entry's full name
    kept_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)  # file -> fields
    private: dict[str, str] = field(default_factory=dict)  # known file -> why it stays

    def takes(self, name: str) -> bool:
        return any(re.fullmatch(pattern, name) for pattern in self.taken)

    def why_kept_home(self, name: str) -> str:
        return self.private.get(name, "not public content of the account")

    def public(self) -> dict[str, Any]:
        """The rules as the service publishes them (for the web form)."""
        return {
            "markers": list(self.markers),
            "taken": list(self.taken),
            "kept_fields": {name: list(fields) for name, fields in self.kept_fields.items()},
            "private": dict(self.private),
        }


REDDIT = Selection(
    source="reddit",
    markers=("statistics.csv",),
    # statistics.csv names the account; checkfile.csv proves every taken file. posts.csv and
    # comments.csv carry an `ip` column: the checksums need the files whole, so the
    # validator reads them in memory and refinement never keeps the column.
    taken=("posts\\.csv", "comments\\.csv", "statistics\\.csv", "checkfile\\.csv"),
    private={
        "messages.csv": "private messages",
        "messages_archive.csv": "private messages",
        "chat_history.csv": "private chats",
        "ip_logs.csv": "IP address log",
        "linked_phone_number.csv": "phone number",
        "linked_identities.csv": "linked accounts",
        "birthdate.csv": "birth date",
        "account_gender.csv": "gender",
        "payouts.csv": "payment details",
        "stripe.csv": "payment details",
        "friends.csv": "other people's accounts",
        "post_votes.csv": "private votes",
        "comment_votes.csv": "private votes",
        "saved_posts.csv": "private saved items",
        "saved_comments.csv": "private saved items",
        "hidden_posts.csv": "private hidden items",
        "subscribed_subreddits.csv": "private subscriptions",
        "user_preferences.csv": "private settings",
        "sensitive_ads_preferences.csv": "private settings",
        "purchases.csv": "payment details",
        "subscriptions.csv": "payment details",
        "drafts.csv": "unpublished drafts",
        "announcements.csv": "private notifications",
        "approved_submitter_subreddits.csv": "private memberships",
        "gilded_content.csv": "private purchases",
        "gold_received.csv": "private purchases",
        "ip_addresses.csv": "IP address log",
        "persona.csv": "identity verification",
        "scheduled_posts.csv": "unpublished drafts",
        "twitter.csv": "linked accounts",
    },
)

X = Selection(
    source="twitter",
    markers=("data/manifest.js", "data/account.js"),
    # The manifest describes the archive (no contact details); account.js is reduced to
    # the fields that name the account: its email and the rest stay home.
    taken=(
        "data/manifest\\.js",
        "data/account\\.js",
        "data/tweets?\\.js",
        "data/tweets-part\\d+\\.js",
    ),
    kept_fields={"data/account.js": ("accountId", "username", "createdAt")},
    private={
        "data/account.js": "email address and sign-up details (only the account's id, handle "
        "and creation date are taken)",
        "data/phone-number.js": "phone number",
        "data/direct-messages.js": "private messages",
        "data/direct-messages-group.js": "private group messages",
        "data/direct-message-headers.js": "private messages",
        "data/ip-audit.js": "IP address log",
        "data/ageinfo.js": "age",
        "data/email-address-change.js": "email address",
        "data/screen-name-change.js": "account history",
        "data/contact.js": "address book",
        "data/device-token.js": "devices",
        "data/connected-application.js": "linked applications",
        "data/personalization.js": "inferred interests",
        "data/like.js": "private likes",
        "data/follower.js": "other people's accounts",
        "data/following.js": "other people's accounts",
        "data/block.js": "other people's accounts",
        "data/mute.js": "other people's accounts",
        "data/verified.js": "identity verification",
    },
)

# A generic export is one JSON, NDJSON or CSV file: its items are reduced to these fields.
GENERIC_TEXT_FIELDS = ("text", "full_text", "body", "content", "message", "title")
GENERIC_TIME_FIELDS = ("created_at", "date", "timestamp", "time")
GENERIC_ID_FIELDS = ("id", "id_str", "uuid")
GENERIC_FIELDS = (*GENERIC_ID_FIELDS, *GENERIC_TEXT_FIELDS, *GENERIC_TIME_FIELDS)
# Fields of a conversation (a chat or mailbox export): its texts are other people's too, so
# such a file is not contributed at all (keeping only its text fields would launder it).
CONVERSATION_FIELDS = (
    "from", "to", "cc", "sender", "sender_id", "recipient", "recipients", "recipient_id",
    "author", "author_id", "participants", "thread_id", "conversation_id", "chat_id",
    "channel", "channel_url", "message_id", "subject", "reply_to", "in_reply_to",
)  # fmt: skip

SELECTIONS: dict[str, Selection] = {s.source: s for s in (REDDIT, X)}


def selection_for(names: list[str]) -> Selection | None:
    """The selection of an archive with these entries (None: a generic single file)."""
    present = set(names)
    return next((s for s in SELECTIONS.values() if present & set(s.markers)), None)


def published() -> dict[str, dict[str, Any]]:
    """Every source's rules as the service publishes them, `generic` included."""
    rules = {name: selection.public() for name, selection in SELECTIONS.items()}
    private = {
        name.rsplit("/", 1)[-1].lower(): f"{why} ({selection.source})"
        for selection in SELECTIONS.values()
        for name, why in selection.private.items()
        if name not in selection.kept_fields  # X's account.js is taken, reduced
    }
    generic = {
        "kept_fields": list(GENERIC_FIELDS),
        "refused_fields": list(CONVERSATION_FIELDS),
        "private_files": private,
    }
    return {**rules, "generic": generic}


def refuse_untaken(selection: Selection, names: list[str]) -> None:
    """ExportRejected naming the first file of an upload outside the source's list."""
    extra = sorted(name for name in names if not selection.takes(name))
    if extra:
        why = selection.why_kept_home(extra[0])
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        raise ExportRejected(
            f"The upload carries {extra[0]} ({why}){more}: only public, self-authored "
            f"content of a {selection.source} export is taken; build the upload with the "
            "web form or `datadao contribute`, which leave such files on your machine."
        )


YTD = re.compile(rb"^\s*window\.YTD\.([A-Za-z0-9_]+)\.part(\d+)\s*=\s*")


def refuse_extra_account_fields(data: bytes) -> None:
    """ExportRejected if X's account.js carries more than the fields that name the account."""
    match = YTD.match(data)
    try:
        items = json.loads(data[match.end() :]) if match else None
    except ValueError:
        return  # unreadable: the source's own parsing says why
    kept = set(X.kept_fields["data/account.js"])
    for item in items if isinstance(items, list) else []:
        account = item.get("account") if isinstance(item, dict) else None
        extra = sorted(set(account) - kept) if isinstance(account, dict) else []
        if extra:
            raise ExportRejected(
                f"data/account.js carries {', '.join(extra)}: only {', '.join(sorted(kept))} "
                "are taken (your email and sign-up details stay on your machine)."
            )
