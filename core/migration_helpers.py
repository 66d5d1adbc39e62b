"""Operations for migrations that move models from one app to another
without touching their tables (SeparateDatabaseAndState)."""

from django.db import migrations


def move_content_types(*moves: tuple[str, str, str]) -> migrations.RunPython:
    """Give the content types of moved models their new app label, so that the
    permissions granted on them (groups, users) and admin log entries follow
    the models. `moves`: (old app label, new app label, model name)."""

    def relabel(apps, schema_editor, pairs):
        content_type = apps.get_model("contenttypes", "ContentType")
        for old, new, model in pairs:
            if not content_type.objects.filter(app_label=new, model=model).exists():
                content_type.objects.filter(app_label=old, model=model).update(app_label=new)

    def forwards(apps, schema_editor):
        relabel(apps, schema_editor, moves)

    def backwards(apps, schema_editor):
        relabel(apps, schema_editor, [(new, old, model) for old, new, model in moves])

    return migrations.RunPython(forwards, backwards)
