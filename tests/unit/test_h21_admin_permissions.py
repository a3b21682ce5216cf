"""Issue 21: a view-only staff user (is_staff and every `view_*` permission, nothing else) writes nothing through
the admin. The walk is generic: every action of every registered ModelAdmin and every page a ModelAdmin adds in
`get_urls` is discovered at run time, so a new action or page without a permission check fails here.

A write attempt is a POST with every form field the project's actions and pages read (confirmations included)
and must leave every watched row as it was. Actions must not even be offered to the user unless listed below as
read-only (Django then answers "No action selected"); pages must answer 403 or redirect with an error message.
"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.contrib.messages import ERROR, WARNING, get_messages
from django.test import RequestFactory
from django.urls import URLPattern, reverse

from catalog.models import Interaction
from recommend.core.models import Experiment
from recommend.hierarchy.models import ProposalChange, TaxonomyProposal
from recommend.models import AssociationRule, CategorySuggestion, DuplicatePair, Job, ModelVersion, PairOverride
from recommend.sequential.models import RecommendationFeedback
from taxonomy.models import CategoryEdit
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

WATCHED_APPS = ("catalog", "taxonomy", "recommend", "auth", "authtoken", "axes")
STANDARD_VIEWS = ("changelist", "add", "history", "delete", "change")
# Actions that only read: a view-only user may be offered these (they still must change nothing).
READ_ONLY_ACTIONS = {"recommend.modelversion.compare_selected"}
# Pages a view-only user may open and even POST to (they render; they never write).
READ_ONLY_PAGES = {
    "recommend_modelversion_compare",
    "recommend_duplicatepair_groups",
    "recommend_taxonomyproposal_review",
}


def admin_actions() -> list[tuple[admin.ModelAdmin, str]]:
    """(model admin, action name) for every action of every registered model, the site's own included."""
    found = []
    for model_admin in admin.site._registry.values():
        for _function, name, _description in model_admin._get_base_actions():
            found.append((model_admin, name))
    return found


def custom_admin_urls() -> list[tuple[admin.ModelAdmin, URLPattern]]:
    """Every named URL a ModelAdmin adds beyond the standard changelist/add/change/delete/history."""
    found = []
    for model, model_admin in admin.site._registry.items():
        standard = {f"{model._meta.app_label}_{model._meta.model_name}_{view}" for view in STANDARD_VIEWS}
        for pattern in model_admin.get_urls():
            if isinstance(pattern, URLPattern) and pattern.name and pattern.name not in standard:
                found.append((model_admin, pattern))
    return found


def action_id(case: tuple[admin.ModelAdmin, str]) -> str:
    model_admin, name = case
    return f"{model_admin.opts.label_lower}.{name}"


ACTIONS = admin_actions()
URLS = custom_admin_urls()


def database_state() -> dict[str, list[dict]]:
    """Every row of every concrete table of the watched apps."""
    state = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label in WATCHED_APPS and not meta.proxy and meta.managed:
            state[meta.label] = list(model._base_manager.order_by("pk").values())
    return state


def changed_tables(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


@pytest.fixture
def viewer(db):
    user = User.objects.create(username="view-only", is_staff=True)  # force_login: no password to hash
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return user


@pytest.fixture
def seed(tree):
    """One row of every kind an action or page acts on, each in the state its write would change."""
    milk, bread, soap, copy = (ProductFactory(title=title, category=tree["shirts"]) for title in "ABCD")
    unsure = ProductFactory(
        title="Unsure", category=tree["men"], category_source="automatic", needs_review=True, category_confidence=0.2
    )

    def version(kind: str, number: int, status: str) -> ModelVersion:
        return ModelVersion.objects.create(kind=kind, version=number, status=status)

    version("similar", 1, ModelVersion.Status.RETIRED)
    control = version("similar", 2, ModelVersion.Status.ACTIVE)
    treatment = version("similar", 3, ModelVersion.Status.READY)
    classifier = version("classifier", 1, ModelVersion.Status.ACTIVE)
    pairs = version("bought_together", 1, ModelVersion.Status.ACTIVE)
    Experiment.objects.create(name="v3 against v2", control=control, treatment=treatment)
    suggestion = CategorySuggestion.objects.create(
        product=unsure, model_version=classifier, rank=1, category=tree["shirts"], confidence=0.4
    )
    AssociationRule.objects.create(
        model_version=pairs, antecedent=milk, consequent=bread, baskets=5, support=0.1, confidence=0.5, lift=2.0
    )
    PairOverride.objects.create(product=soap, other=milk, action=PairOverride.Action.BLOCK)
    DuplicatePair.objects.create(left=soap, right=copy, score=0.99)
    Job.objects.create(kind=Job.Kind.IMPORT, status=Job.Status.FAILED, error="boom")
    queued = Job.objects.create(kind=Job.Kind.TRAIN_CLASSIFIER, status=Job.Status.QUEUED)
    Interaction.objects.create(visitor_id="shopper-1", product=milk, event="purchase", timestamp="2025-01-01T00:00Z")
    RecommendationFeedback.objects.create(visitor_id="shopper-1", product=bread)
    edit = CategoryEdit.objects.create(
        kind=CategoryEdit.Kind.RENAME,
        category=tree["women"],
        summary="Renamed Ladies to Women",
        previous={"name": "Ladies", "slug": "ladies"},
    )
    proposal = TaxonomyProposal.objects.create(
        status=TaxonomyProposal.Status.READY,
        tree=[{"key": "n1", "parent_key": None, "level": 0, "label": "Tops", "size": 2, "category_id": None}],
    )
    change = ProposalChange.objects.create(
        proposal=proposal, kind=ProposalChange.Kind.NEW, node_key="n1", name="Tops", summary="New category Tops"
    )
    url_kwargs = {
        "suggestion_id": suggestion.pk,
        "job_id": queued.pk,
        "pk": queued.pk,
        "version_id": treatment.pk,
        "kind": "similar",
        "proposal_id": proposal.pk,
        "edit_id": edit.pk,
        "id": User.objects.create(username="another-staffer", is_staff=True).pk,  # Django's "change password" page
    }
    form = {
        "confirm": "yes",
        "post": "yes",  # delete_selected's confirmation
        "apply": "1",  # the "choose a target" step of move / merge actions
        "target": tree["electronics"].pk,
        "category": tree["electronics"].pk,
        "ids": f"{soap.pk},{copy.pk}",
        "keep": soap.pk,
        "all": "accept",
        "change": change.pk,
        "decision": "accepted",
        "key": "n1",
        "name": "Renamed by a viewer",
        "password1": "a-Viewer-password-9",
        "password2": "a-Viewer-password-9",
        "depth": 2,
        "preset": "groceries",
        "limit": 10,
        "epochs": 1,
        "demo": "on",
    }
    return {"url_kwargs": url_kwargs, "form": form}


def refused(response, request) -> bool:
    """403, or the admin's redirect back with an error (or "No action selected") message."""
    if response.status_code == 403:
        return True
    levels = {message.level for message in get_messages(request)}
    return response.status_code == 302 and bool(levels & {ERROR, WARNING})


@pytest.mark.parametrize("case", ACTIONS, ids=action_id)
def test_a_view_only_user_cannot_run_an_admin_action(client, viewer, seed, case):
    model_admin, name = case
    label = action_id(case)
    request = RequestFactory().get("/")
    request.user = viewer
    offered = name in model_admin.get_actions(request)
    assert not offered or label in READ_ONLY_ACTIONS, f"{label} is offered to a view-only user"
    client.force_login(viewer)
    selected = list(model_admin.model._base_manager.values_list("pk", flat=True))
    changelist = reverse(f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_changelist")
    before = database_state()

    response = client.post(changelist, {**seed["form"], "action": name, "index": "0", "_selected_action": selected})

    assert changed_tables(before, database_state()) == [], f"{label} wrote as a view-only user"
    # Not offered: Django answers "No action selected" (or, when it offers no action at all, the list).
    assert response.status_code in (200, 302, 403)


@pytest.mark.parametrize("case", URLS, ids=lambda case: case[1].name)
def test_a_view_only_user_cannot_write_through_a_custom_admin_page(client, viewer, seed, case):
    _model_admin, pattern = case
    missing = set(pattern.pattern.converters) - set(seed["url_kwargs"])
    assert not missing, f"{pattern.name}: give the walk a value for {missing} in the seed fixture"
    kwargs = {name: seed["url_kwargs"][name] for name in pattern.pattern.converters}
    url = reverse(f"admin:{pattern.name}", kwargs=kwargs)
    client.force_login(viewer)
    before = database_state()

    opened = client.get(url)
    assert changed_tables(before, database_state()) == [], f"GET {pattern.name} wrote"
    response = client.post(url, seed["form"])

    assert changed_tables(before, database_state()) == [], f"POST {pattern.name} wrote as a view-only user"
    assert opened.status_code in (200, 302, 403, 405)
    if pattern.name not in READ_ONLY_PAGES:
        assert refused(response, response.wsgi_request), f"POST {pattern.name}: {response.status_code}"


def test_the_walk_finds_the_actions_and_pages_it_is_about():
    actions = {action_id(case) for case in ACTIONS}
    pages = {pattern.name for _, pattern in URLS}

    assert {"recommend.experiment.promote_treatment", "recommend.experiment.stop"} <= actions
    assert {"recommend.associationrule.pin_pairs", "recommend.associationrule.block_pairs"} <= actions
    assert {"recommend_associationrule_build", "recommend_train_classifier", "taxonomy_category_undo"} <= pages


def staff_with(*perms: str):
    user = User.objects.create(username=f"clerk-{'-'.join(p.split('.')[-1] for p in perms)}", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


EXPERIMENT_EDITOR = ("recommend.view_experiment", "recommend.change_experiment")


def promote(client, user):
    client.force_login(user)
    experiment = Experiment.objects.get()
    client.post(
        reverse("admin:recommend_experiment_changelist"),
        {"action": "promote_treatment", "_selected_action": [experiment.pk]},
    )
    experiment.refresh_from_db()
    return experiment, ModelVersion.objects.get(pk=experiment.treatment_id)


def test_promoting_the_treatment_needs_the_model_registry_change_permission_too(client, seed):
    experiment, treatment = promote(client, staff_with(*EXPERIMENT_EDITOR))

    assert experiment.is_running and treatment.status == ModelVersion.Status.READY


def test_promoting_with_both_change_permissions_activates_the_treatment(client, seed):
    experiment, treatment = promote(client, staff_with(*EXPERIMENT_EDITOR, "recommend.change_modelversion"))

    assert not experiment.is_running and treatment.status == ModelVersion.Status.ACTIVE


def test_stopping_an_experiment_needs_its_change_permission(client, seed):
    client.force_login(staff_with(*EXPERIMENT_EDITOR))
    experiment = Experiment.objects.get()

    client.post(
        reverse("admin:recommend_experiment_changelist"), {"action": "stop", "_selected_action": [experiment.pk]}
    )

    experiment.refresh_from_db()
    assert not experiment.is_running and ModelVersion.objects.get(pk=experiment.control_id).status == "active"


def test_the_bought_together_build_needs_the_train_permission(client, seed):
    url = reverse("admin:recommend_associationrule_build")
    client.force_login(staff_with("recommend.view_associationrule", "recommend.add_job", "recommend.change_job"))
    refused = client.post(url)
    client.force_login(staff_with("recommend.view_associationrule", "recommend.change_modelversion"))
    started = client.post(url)

    assert (refused.status_code, started.status_code) == (403, 302)
    assert Job.objects.filter(kind=Job.Kind.BUILD_BOUGHT_TOGETHER).count() == 1


def test_pinning_a_pair_needs_the_override_add_and_change_permissions(client, seed):
    rule = AssociationRule.objects.get()
    changelist = reverse("admin:recommend_associationrule_changelist")
    client.force_login(staff_with("recommend.view_associationrule", "recommend.add_pairoverride"))
    client.post(changelist, {"action": "pin_pairs", "_selected_action": [rule.pk]})
    assert not PairOverride.objects.filter(product=rule.antecedent).exists()

    client.force_login(
        staff_with("recommend.view_associationrule", "recommend.add_pairoverride", "recommend.change_pairoverride")
    )
    client.post(changelist, {"action": "pin_pairs", "_selected_action": [rule.pk]})
    assert PairOverride.objects.get(product=rule.antecedent).action == PairOverride.Action.PIN
