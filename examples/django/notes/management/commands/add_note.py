"""Saves a Note outside any view (as a job or a shell would): the post_save signal pushes it."""
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from notes.models import Note


class Command(BaseCommand):
    help = "Save a note for a user; it is pushed to their browsers."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("text")

    def handle(self, *args, **options):
        note = Note.objects.create(owner=User.objects.get(username=options["username"]), text=options["text"])
        self.stdout.write("note %d saved" % note.pk)
