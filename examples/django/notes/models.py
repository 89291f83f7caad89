from django.conf import settings
from django.db import models


class Note(models.Model):
    """A note for a user; saving one pushes it to the user's browsers (see signals.py)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.CharField(max_length=500)
    created = models.DateTimeField(auto_now_add=True)
