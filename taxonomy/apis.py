"""REST endpoints for the category tree and the attribute tree (read-only; staff edit in the admin)."""

from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from taxonomy.models import AttributeNode, Category
from taxonomy.selectors import attribute_tree, category_path_items, category_tree, tree_cache_version

TREE_CACHE_SECONDS = 60


class DepthInput(serializers.Serializer):
    depth = serializers.IntegerField(required=False, min_value=1, max_value=20)


class CategoryNodeOutput(serializers.Serializer):
    """One node of the nested category tree."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    level = serializers.IntegerField(help_text="0 for a root.")


class AttributeNodeOutput(serializers.Serializer):
    """One node of the attribute tree: a group, an attribute (with data type and unit) or a value."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    level = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=AttributeNode.Kind.choices)
    data_type = serializers.CharField(help_text="text, number, bool or enum for attributes; empty otherwise.")
    unit = serializers.CharField()


# Recursive: each node lists its children as nodes of the same shape (the schema gets a $ref to itself).
CategoryNodeOutput._declared_fields["children"] = CategoryNodeOutput(many=True)
AttributeNodeOutput._declared_fields["children"] = AttributeNodeOutput(many=True)


class CategoryTreeApi(APIView):
    """The whole category tree as nested nodes; `depth` limits how many levels come back."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="v1_categories_tree",
        parameters=[OpenApiParameter("depth", int)],
        responses={200: CategoryNodeOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        params = DepthInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        depth = params.validated_data.get("depth")
        key = f"taxonomy:category_tree:{depth}:{tree_cache_version()}"
        tree = cache.get(key)
        if tree is None:
            tree = category_tree(max_depth=depth)
            cache.set(key, tree, TREE_CACHE_SECONDS)
        return Response(tree)


class PathItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ChildOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class CategoryDetailOutput(serializers.ModelSerializer):
    path = serializers.SerializerMethodField()
    children = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "description", "level", "path", "children", "is_active", "source"]

    @extend_schema_field(PathItemOutput(many=True))
    def get_path(self, category: Category) -> list[dict[str, Any]]:
        return category_path_items(category=category)

    @extend_schema_field(ChildOutput(many=True))
    def get_children(self, category: Category) -> list[dict[str, Any]]:
        children = category.get_children()
        if not self.context.get("show_hidden"):
            children = children.filter(is_active=True)
        return list(children.values("id", "name", "slug"))


class CategoryDetailApi(generics.RetrieveAPIView):
    """One category with its path from the root and its direct children.

    A hidden (inactive) category is 404, as in the storefront, except for staff who may change categories.
    """

    permission_classes = [AllowAny]
    serializer_class = CategoryDetailOutput

    def show_hidden(self) -> bool:
        return self.request.user.has_perm("taxonomy.change_category")

    def get_queryset(self) -> QuerySet[Category]:
        return Category.objects.all() if self.show_hidden() else Category.objects.filter(is_active=True)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "show_hidden": self.show_hidden()}


class AttributeTreeApi(APIView):
    """The attribute tree: groups > attributes (with data type and unit) > values."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: AttributeNodeOutput(many=True)})
    def get(self, request: Request) -> Response:
        return Response(attribute_tree())
