"""Related rows a transaction just wrote, held on their parent as `prefetch_related` would hold
them, so reading `parent.<name>.all()` afterwards (rendering, events) costs no query."""

from collections.abc import Iterable

from django.db import models


def hold(instance: models.Model, name: str, objects: Iterable[models.Model]) -> None:
    """`name` is a reverse foreign key's accessor (its prefetch cache bears the same name)."""
    queryset = getattr(instance, name).get_queryset()
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    instance._prefetched_objects_cache = {**getattr(instance, "_prefetched_objects_cache", {}),
                                          name: queryset}
