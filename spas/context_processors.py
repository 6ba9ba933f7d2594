from .selectors import memberships_for_user


def workspace(request):
    """The current spa, the user's role in it, and the spas they can switch to."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_spa": None, "current_membership": None}
    return {
        "current_spa": getattr(request, "spa", None),
        "current_membership": getattr(request, "membership", None),
        "my_memberships": lambda: memberships_for_user(user),
    }
