// A create call for each resource, type-checked against the client openapi-typescript
// generates from openapi/openapi.json with its default options (scripts/clients/run).
import createClient from "openapi-fetch";
import type { components, paths } from "./.build/schema";

type Schemas = components["schemas"];

export async function createEach(baseUrl: string, token: string): Promise<number[]> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
  const desk = await client.POST("/v1/desks", { body: { name: "Berlin office" } });
  const deskId: number = desk.data?.id ?? 0;
  const ticket: Schemas["TicketCreate"] = {
    desk_id: deskId, subject: "Printer on fire", requester: { email: "ana@acme.example" },
  };
  const created = await client.POST("/v1/tickets", {
    body: ticket, params: { header: { "Idempotency-Key": "3f1c5e0a" } },
  });
  const etag: string | null = created.response.headers.get("ETag");
  const ticketId: number = created.data?.id ?? 0;
  const updated = await client.PATCH("/v1/tickets/{ticket_id}", {
    params: { path: { ticket_id: ticketId }, header: { "If-Match": etag ?? "*" } },
    body: { priority: "urgent" },
  });
  const problem: Schemas["Problem"] | undefined = updated.error;
  const ids = [
    (await client.POST("/v1/tickets/{ticket_id}/comments", {
      params: { path: { ticket_id: ticketId } }, body: { body: "On our way." } })).data?.id,
    (await client.POST("/v1/customers", {
      body: { desk_id: deskId, email: "ana@acme.example" } })).data?.id,
    (await client.POST("/v1/organizations", { body: { desk_id: deskId, name: "Acme" } })).data?.id,
    (await client.POST("/v1/users", { body: { email: "ana@staff.example", name: "Ana" } })).data?.id,
    (await client.POST("/v1/teams", { body: { name: "Tier 2" } })).data?.id,
    (await client.POST("/v1/views", { body: { desk_id: deskId, name: "Urgent" } })).data?.id,
    (await client.POST("/v1/forms", {
      body: { desk_id: deskId, name: "Contact", slug: "contact" } })).data?.id,
    (await client.POST("/v1/routing-rules", { body: { desk_id: deskId, name: "Rule" } })).data?.id,
    (await client.POST("/v1/webhooks", {
      body: { url: "https://hooks.example.com/x", events: ["ticket.created"] } })).data?.id,
    (await client.POST("/v1/api-tokens", {
      body: { name: "Zapier", scopes: ["tickets:read"] } })).data?.id,
    (await client.POST("/v1/desks/{desk_id}/ticket-fields", {
      params: { path: { desk_id: deskId } },
      body: { key: "plan", label: "Plan", type: "text" } })).data?.id,
  ];
  const view: Schemas["ViewRead"] | undefined = (await client.GET("/v1/views/{view_id}", {
    params: { path: { view_id: ids[5] ?? 0 } } })).data;
  return [deskId, ticketId, problem?.status ?? 0, view?.id ?? 0,
          ...ids.map((id) => id ?? 0)];
}
