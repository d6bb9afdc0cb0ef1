// node client_test.js <base-url> <ticket>
// Reads each endpoint's ?wsdl with the npm `soap` package and calls
// RegisterDeviceForPushNotification, GetRegisteredDevices and
// RunAppointmentAlarmBroker (success, or the ServiceUnavailable Fault when the
// daemon has no broker wired) on the Pocket endpoints, SaveForeignKey and
// GetKeyOnDeviceIdentifier on the ForeignSystem endpoints.
'use strict';
const soap = require('soap');
const assert = require('assert');

const base = process.argv[2];
const ticket = process.argv[3];
const endpoints = [
  { path: '/Remote/Services87/Pocket.svc', release: 87, agent: 'Pocket' },
  { path: '/Remote/Services88/Pocket.svc', release: 88, agent: 'Pocket' },
  { path: '/Remote/Services84/ForeignSystem.svc', release: 84, agent: 'ForeignSystem' },
  { path: '/Remote/Services88/ForeignSystem.svc', release: 88, agent: 'ForeignSystem' },
];

// The seeds put xsi:type on every element; node-soap then hands leaves back
// as {attributes:{'xsi:type':..}, $value:..}. Strip that to plain values.
function plain(v) {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    if ('$value' in v) return plain(v.$value);
    if ('attributes' in v && Object.keys(v).length === 1) return '';  // an empty typed element
    const out = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'attributes') out[k] = plain(x);
    return out;
  }
  return v;
}

function call(client, method, args) {
  return new Promise((resolve) => {
    client[method](args, (err, result, raw) => resolve({ err, result: err || result == null ? result : plain(JSON.parse(JSON.stringify(result))), raw }));
  });
}

async function pocket(client, ep) {
  const id = `npm-soap-${ep.release}`;
  let r = await call(client, 'RegisterDeviceForPushNotification', {
    DeviceInfo: { DeviceName: 'Node phone', DeviceIdentifier: id, PocketVersion: '10.2.1', Language: 'en-US',
                  PNSHandle: `tok-${id}`, Platform: 'Google', OSVersion: 'Android 14', TimeZoneId: 261 },
  });
  assert.ifError(r.err);
  r = await call(client, 'GetRegisteredDevices', { AssociateId: 919 });
  assert.ifError(r.err);
  const list = r.result.Response.PocketDeviceInfo;
  const devices = Array.isArray(list) ? list : [list];
  const mine = devices.find((d) => d.DeviceIdentifier === id);
  assert.ok(mine, `device ${id} listed: ${JSON.stringify(r.result)}`);
  assert.strictEqual(mine.Platform, 'Google');
  assert.strictEqual(Number(mine.TimeZoneId), 261);
  r = await call(client, 'RunAppointmentAlarmBroker', {});
  if (r.err) {
    // Not wired: a Fault whose ExceptionType says so (documented behaviour).
    assert.ok(/ServiceUnavailable/.test(r.err.body || String(r.err)), `unexpected fault: ${r.err}`);
    console.log(`${ep.path}: RunAppointmentAlarmBroker answered the ServiceUnavailable fault (broker not wired)`);
  }
  // A Fault comes back as an error with the ExceptionInfo.
  r = await call(client, 'GetPushNotificationTagsForDevice', { DeviceIdentifier: 'no-such-device' });
  assert.ok(r.err, 'unknown device must fault');
  assert.ok(/SoNotFoundException/.test(r.err.body), r.err.body);
}

async function foreign(client, ep) {
  const dev = { ApplicationName: 'NodeApp', DeviceName: 'Node phone', DeviceIdentifier: `fs-${ep.release}` };
  let r = await call(client, 'GetKeyOnDeviceIdentifier', { ...dev, KeyName: 'missing', TableName: '', RecordId: 0 });
  assert.ifError(r.err);
  assert.strictEqual(r.result.Response.Key, '');
  assert.strictEqual(Number(r.result.Response.RecordId), 0);
  r = await call(client, 'SaveForeignKey', { ForeignKey: { Key: 'crmid', Value: '4711', RecordId: 12, TableName: 'contact' }, ...dev });
  assert.ifError(r.err);
  r = await call(client, 'GetKeyOnDeviceIdentifier', { ...dev, KeyName: 'crmid', TableName: 'contact', RecordId: 12 });
  assert.ifError(r.err);
  assert.strictEqual(r.result.Response.Key, 'crmid');
  assert.strictEqual(r.result.Response.Value, '4711');
  assert.strictEqual(r.result.Response.TableName, 'contact');
}

(async () => {
  for (const ep of endpoints) {
    const url = `${base}${ep.path}?wsdl`;
    const client = await soap.createClientAsync(url, { endpoint: `${base}${ep.path}` });
    const ns = `http://www.superoffice.net/ws/crm/NetServer/Services${ep.release}`;
    client.addSoapHeader(`<ApplicationToken xmlns="${ns}">app-token</ApplicationToken>`);
    client.addSoapHeader(`<Credentials xmlns="${ns}"><Ticket>${ticket}</Ticket></Credentials>`);
    if (ep.agent === 'Pocket') await pocket(client, ep);
    else await foreign(client, ep);
    console.log(`${ep.path}: ok`);
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
