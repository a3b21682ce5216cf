"""Issue 21: stored visitor ids that were session keys (a credential: anyone who could read one could sign in
as that shopper) become one-way ids, `m-` + SHA-256 of the key (catalog.visitors.legacy_visitor_id computes the
same, so a browser still holding that session keeps its history). Ids from feeds are left alone: an id is
rewritten only if it has a session key's shape and the storefront stored it (a `web:` event), a session has that
key, or it is a privacy choice or a "not interested" row (only the storefront and its API write those)."""

import hashlib
import re

from django.db import migrations

SESSION_KEY = re.compile(r"^[a-z0-9]{32}$")


def legacy_visitor_id(session_key):
    return "m-" + hashlib.sha256(f"visitor:{session_key}".encode()).hexdigest()[:32]


def forwards(apps, schema_editor):
    Interaction = apps.get_model("catalog", "Interaction")
    VisitorPreference = apps.get_model("catalog", "VisitorPreference")
    Feedback = apps.get_model("recommend", "RecommendationFeedback")
    Session = apps.get_model("sessions", "Session")
    keys = set(Interaction.objects.filter(event_id__startswith="web:").values_list("visitor_id", flat=True))
    keys |= set(VisitorPreference.objects.values_list("visitor_id", flat=True))
    keys |= set(Feedback.objects.values_list("visitor_id", flat=True))
    stored = sorted(
        k for k in Interaction.objects.values_list("visitor_id", flat=True).distinct() if SESSION_KEY.match(k)
    )
    for start in range(0, len(stored), 500):  # in chunks: SQLite caps the parameters of one query
        chunk = stored[start : start + 500]
        keys |= set(Session.objects.filter(session_key__in=chunk).values_list("session_key", flat=True))
    for key in sorted(k for k in keys if SESSION_KEY.match(k)):
        new = legacy_visitor_id(key)
        Interaction.objects.filter(visitor_id=key).update(visitor_id=new)
        Feedback.objects.filter(visitor_id=key).update(visitor_id=new)
        if not VisitorPreference.objects.filter(visitor_id=new).exists():
            VisitorPreference.objects.filter(visitor_id=key).update(visitor_id=new)


class Migration(migrations.Migration):
    dependencies = [
        ("recommend", "0014_derived_work_outbox"),
        ("catalog", "0006_visitor_identity"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
