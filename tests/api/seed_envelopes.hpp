#pragma once
// The seed documents' request/response envelopes (the CRM documents' examples 000,
// 003, 004), verbatim except for the values the tests fill in.
#include <string>

namespace herald::test {

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

// Seed 000 request; DEVICE_IDENTIFIER / PNS_HANDLE / TICKET are placeholders.
inline const std::string seed000_request = R"(<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope
 xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"
 xmlns:SOAP-ENC="http://www.w3.org/2003/05/soap-encoding"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:NetServerServices872="http://schemas.microsoft.com/2003/10/Serialization/Arrays"
 xmlns:NetServerServices871="http://schemas.microsoft.com/2003/10/Serialization/"
 xmlns:Pocket="http://www.superoffice.net/ws/crm/NetServer/Services87">
  <Pocket:ApplicationToken>1234567-1234-9876</Pocket:ApplicationToken>
  <Pocket:Credentials>
    <Pocket:Ticket>TICKET</Pocket:Ticket>
  </Pocket:Credentials>
 <SOAP-ENV:Body>
   <Pocket:RegisterDeviceForPushNotification>
    <Pocket:DeviceInfo xsi:type="Pocket:PocketDeviceInfo">
     <Pocket:DeviceName xsi:type="xsd:string">John's iPhone 14 Pro</Pocket:DeviceName>
     <Pocket:DeviceIdentifier xsi:type="xsd:string">DEVICE_IDENTIFIER</Pocket:DeviceIdentifier>
     <Pocket:PocketVersion xsi:type="xsd:string">10.2.1</Pocket:PocketVersion>
     <Pocket:Language xsi:type="xsd:string">en-US</Pocket:Language>
     <Pocket:PNSHandle xsi:type="xsd:string">PNS_HANDLE</Pocket:PNSHandle>
     <Pocket:Platform xsi:type="Pocket:NotificationPlatform">Apple</Pocket:Platform>
     <Pocket:OSVersion xsi:type="xsd:string">iOS 17.1</Pocket:OSVersion>
    </Pocket:DeviceInfo>
   </Pocket:RegisterDeviceForPushNotification>

 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
)";

inline const std::string seed000_response = R"(<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope
 xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"
 xmlns:SOAP-ENC="http://www.w3.org/2003/05/soap-encoding"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:NetServerServices872="http://schemas.microsoft.com/2003/10/Serialization/Arrays"
 xmlns:NetServerServices871="http://schemas.microsoft.com/2003/10/Serialization/"
 xmlns:Pocket="http://www.superoffice.net/ws/crm/NetServer/Services87">
 <SOAP-ENV:Body>
  <Pocket:RegisterDeviceForPushNotificationResponse>
  </Pocket:RegisterDeviceForPushNotificationResponse>
 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
)";

// Seed 003 request; APPLICATION / DEVICE_NAME / DEVICE_IDENTIFIER / KEY_NAME / TABLE_NAME / RECORD_ID / TICKET.
inline const std::string seed003_request = R"(<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope
 xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"
 xmlns:SOAP-ENC="http://www.w3.org/2003/05/soap-encoding"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:NetServerServices841="http://schemas.microsoft.com/2003/10/Serialization/"
 xmlns:ForeignSystem="http://www.superoffice.net/ws/crm/NetServer/Services84">
  <ForeignSystem:ApplicationToken>1234567-1234-9876</ForeignSystem:ApplicationToken>
  <ForeignSystem:Credentials>
    <ForeignSystem:Ticket>TICKET</ForeignSystem:Ticket>
  </ForeignSystem:Credentials>
 <SOAP-ENV:Body>
   <ForeignSystem:GetKeyOnDeviceIdentifier>
    <ForeignSystem:ApplicationName xsi:type="xsd:string">APPLICATION</ForeignSystem:ApplicationName>
    <ForeignSystem:DeviceName xsi:type="xsd:string">DEVICE_NAME</ForeignSystem:DeviceName>
    <ForeignSystem:DeviceIdentifier xsi:type="xsd:string">DEVICE_IDENTIFIER</ForeignSystem:DeviceIdentifier>
    <ForeignSystem:KeyName xsi:type="xsd:string">KEY_NAME</ForeignSystem:KeyName>
    <ForeignSystem:TableName xsi:type="xsd:string">TABLE_NAME</ForeignSystem:TableName>
    <ForeignSystem:RecordId xsi:type="xsd:int">RECORD_ID</ForeignSystem:RecordId>
   </ForeignSystem:GetKeyOnDeviceIdentifier>

 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
)";

// Seed 003 response for a key that does not exist (dates: DateTime.MinValue).
inline const std::string seed003_empty_response = R"(<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope
 xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"
 xmlns:SOAP-ENC="http://www.w3.org/2003/05/soap-encoding"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:NetServerServices841="http://schemas.microsoft.com/2003/10/Serialization/"
 xmlns:ForeignSystem="http://www.superoffice.net/ws/crm/NetServer/Services84">
 <SOAP-ENV:Body>
  <ForeignSystem:GetKeyOnDeviceIdentifierResponse>
   <ForeignSystem:Response xsi:type="ForeignSystem:ForeignKey">
    <ForeignSystem:Key xsi:type="xsd:string"></ForeignSystem:Key>
    <ForeignSystem:Value xsi:type="xsd:string"></ForeignSystem:Value>
    <ForeignSystem:RecordId xsi:type="xsd:int">0</ForeignSystem:RecordId>
    <ForeignSystem:CreatedDate xsi:type="xsd:dateTime">0001-01-01T00:00:00Z</ForeignSystem:CreatedDate>
    <ForeignSystem:UpdatedDate xsi:type="xsd:dateTime">0001-01-01T00:00:00Z</ForeignSystem:UpdatedDate>
    <ForeignSystem:UpdatedBy xsi:type="xsd:string"></ForeignSystem:UpdatedBy>
    <ForeignSystem:CreatedBy xsi:type="xsd:string"></ForeignSystem:CreatedBy>
    <ForeignSystem:TableName xsi:type="xsd:string"></ForeignSystem:TableName>
   </ForeignSystem:Response>
  </ForeignSystem:GetKeyOnDeviceIdentifierResponse>
 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
)";

inline const std::string seed004_request = R"(<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope
 xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"
 xmlns:SOAP-ENC="http://www.w3.org/2003/05/soap-encoding"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:NetServerServices882="http://schemas.microsoft.com/2003/10/Serialization/Arrays"
 xmlns:NetServerServices881="http://schemas.microsoft.com/2003/10/Serialization/"
 xmlns:Pocket="http://www.superoffice.net/ws/crm/NetServer/Services88">
  <Pocket:ApplicationToken>1234567-1234-9876</Pocket:ApplicationToken>
  <Pocket:Credentials>
    <Pocket:Ticket>TICKET</Pocket:Ticket>
  </Pocket:Credentials>
 <SOAP-ENV:Body>
   <Pocket:RunAppointmentAlarmBroker>
   </Pocket:RunAppointmentAlarmBroker>

 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
)";

inline const std::string seed004_response = R"(<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope
 xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"
 xmlns:SOAP-ENC="http://www.w3.org/2003/05/soap-encoding"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:NetServerServices882="http://schemas.microsoft.com/2003/10/Serialization/Arrays"
 xmlns:NetServerServices881="http://schemas.microsoft.com/2003/10/Serialization/"
 xmlns:Pocket="http://www.superoffice.net/ws/crm/NetServer/Services88">
 <SOAP-ENV:Body>
  <Pocket:RunAppointmentAlarmBrokerResponse>
  </Pocket:RunAppointmentAlarmBrokerResponse>
 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
)";

// A generic SOAP 1.1 envelope with the credentials in Header, as a SOAP stack sends it.
inline std::string soap11_envelope(const std::string& ns, const std::string& ticket, const std::string& body_xml) {
  return R"(<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns=")" + ns +
         R"("><soap:Header><tns:ApplicationToken>1234567-1234-9876</tns:ApplicationToken><tns:Credentials><tns:Ticket>)" + ticket +
         "</tns:Ticket></tns:Credentials></soap:Header><soap:Body>" + body_xml + "</soap:Body></soap:Envelope>";
}

// Billion laughs and XXE, both refused before any entity is expanded.
inline const std::string billion_laughs = R"(<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"><SOAP-ENV:Body><x>&lol3;</x></SOAP-ENV:Body></SOAP-ENV:Envelope>)";
inline const std::string xxe = R"(<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><GetRegisteredDevices><AssociateId>&xxe;</AssociateId></GetRegisteredDevices></SOAP-ENV:Body></SOAP-ENV:Envelope>)";

}  // namespace herald::test
