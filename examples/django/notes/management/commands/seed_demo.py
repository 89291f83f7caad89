"""Migrates, then creates the demo users: alice (group acme) and bob (group globex)."""
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the example's database and demo users (password: <name>-password)."

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        for name, org in (("alice", "acme"), ("bob", "globex")):
            user, _ = User.objects.get_or_create(username=name, defaults={"email": "%s@example.com" % name})
            user.set_password("%s-password" % name)
            user.save()
            user.groups.add(Group.objects.get_or_create(name=org)[0])
        self.stdout.write("seeded alice (acme) and bob (globex)")
