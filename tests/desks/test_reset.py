from __future__ import annotations

from sqlalchemy import func, select

from app.models import Form, FormSubmission, InboundMessage


async def test_resetting_a_standard_desk_answers_409(client, factory, admin_headers, problem):
    desk = await factory.desk("Production", kind="standard")
    body = problem(await client.post(f"/v1/desks/{desk.id}/reset", headers=admin_headers), 409)
    assert "standard" in body["detail"]


async def test_staging_and_sandbox_desks_can_be_reset(client, factory, admin_headers):
    for kind in ("staging", "sandbox"):
        desk = await factory.desk(kind.title(), kind=kind)
        response = await client.post(f"/v1/desks/{desk.id}/reset", headers=admin_headers)
        assert response.status_code == 200, response.text
        assert response.json()["desk_id"] == desk.id


async def test_resetting_an_archived_desk_answers_409(client, factory, admin_headers, problem):
    desk = await factory.desk("QA", kind="staging")
    await client.post(f"/v1/desks/{desk.id}/archive", headers=admin_headers)
    problem(await client.post(f"/v1/desks/{desk.id}/reset", headers=admin_headers), 409)


async def test_reset_of_a_desk_outside_the_scope_is_404(client, factory, problem):
    mine = await factory.desk("Mine", kind="sandbox")
    other = await factory.desk("Other", kind="sandbox")
    token = await factory.token(["desks:write"], desk_ids=[mine.id], sandbox=True)
    response = await client.post(f"/v1/desks/{other.id}/reset",
                                 headers={"Authorization": f"Bearer {token}"})
    problem(response, 404)


async def test_reset_removes_survey_submissions_and_ignored_mail_of_the_desk(
        client, factory, session, admin_headers):
    desk = await factory.desk("QA", kind="staging")
    other = await factory.desk("Other", kind="staging")
    for d in (desk, other):
        form = Form(desk_id=d.id, slug=f"survey-{d.id}", name="Survey", kind="survey",
                    published=True, version=1, fields=[])
        session.add(form)
        await session.flush()
        session.add(FormSubmission(desk_id=d.id, form_id=form.id, version=1, answers={"q": 1}))
        session.add(InboundMessage(desk_id=d.id, message_id=f"<bounce-{d.id}@x>",
                                   from_address="mailer-daemon@x.example", subject="bounce",
                                   outcome="ignored", reason="bounce"))
    await session.flush()

    response = await client.post(f"/v1/desks/{desk.id}/reset", headers=admin_headers)
    assert response.status_code == 200, response.text

    for model in (FormSubmission, InboundMessage):
        left = dict((await session.execute(
            select(model.desk_id, func.count()).group_by(model.desk_id))).all())
        assert desk.id not in left and left[other.id] == 1, model
