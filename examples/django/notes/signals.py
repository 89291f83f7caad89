"""Publishing from a model save: a new Note is pushed to its owner once the transaction commits
(a rolled-back save pushes nothing), whether it was saved by a view, the admin, a shell or a job."""
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Note
from .push import push


@receiver(post_save, sender=Note)
def push_new_note(sender, instance, created, **kwargs):
    if not created:
        return
    value = {"type": "note", "id": instance.pk, "text": instance.text}
    # message_id makes the publish idempotent: a retry, or a second on_commit, is not delivered twice.
    transaction.on_commit(lambda: push(instance.owner.email, value, expire="1h", message_id="note-%d" % instance.pk))
