/*
 * sim_docs.c - the documents served by the device simulator.
 *
 * Each text document is a NULL-terminated list of fragments (every literal
 * stays under C11's 4095-byte minimum limit); sim.c joins them at start.
 */
#include "sim.h"

/* ---- root device description: UDA 1.0 section 2.1 ---- */

#define SIM_SERVICE(type, id, prefix, name)                              \
  "      <service>\n"                                                    \
  "        <serviceType>urn:schemas-upnp-org:service:" type              \
  "</serviceType>\n"                                                     \
  "        <serviceId>urn:upnp-org:serviceId:" id "</serviceId>\n"       \
  "        <SCPDURL>" prefix "/" name ".xml</SCPDURL>\n"                 \
  "        <controlURL>" prefix "/ctl/" name "</controlURL>\n"           \
  "        <eventSubURL>" prefix "/evt/" name "</eventSubURL>\n"         \
  "      </service>\n"

const char *const ucp_sim_desc_tmpl[] = {
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\n"
    "  <specVersion>\n"
    "    <major>1</major>\n"
    "    <minor>0</minor>\n"
    "  </specVersion>\n"
    "  <device>\n"
    "    <deviceType>urn:schemas-upnp-org:device:BinaryLight:1</deviceType>\n"
    "    <friendlyName>{{NAME}}</friendlyName>\n"
    "    <manufacturer>upnpcp</manufacturer>\n"
    "    <manufacturerURL>http://upnpcp.example.com/</manufacturerURL>\n"
    "    <modelDescription>upnpcp simulated BinaryLight:1 device"
    "</modelDescription>\n"
    "    <modelName>upnpcp-sim</modelName>\n"
    "    <modelNumber>1.0</modelNumber>\n"
    "    <modelURL>http://upnpcp.example.com/sim</modelURL>\n"
    "    <serialNumber>UCPSIM-0001</serialNumber>\n"
    "    <UDN>uuid:{{UUID}}</UDN>\n"
    "    <UPC>012345678905</UPC>\n"
    "    <iconList>\n"
    "      <icon>\n"
    "        <mimetype>image/png</mimetype>\n"
    "        <width>48</width>\n"
    "        <height>48</height>\n"
    "        <depth>24</depth>\n"
    "        <url>/icon.png</url>\n"
    "      </icon>\n"
    "    </iconList>\n",
    "    <serviceList>\n"
    SIM_SERVICE("SwitchPower:1", "SwitchPower", "{{SP}}", "SwitchPower")
    SIM_SERVICE("Dimming:1", "Dimming", "{{DIM}}", "Dimming")
    "    </serviceList>\n",
    "    <presentationURL>/</presentationURL>\n"
    "  </device>\n"
    "</root>\n",
    NULL};

/* ---- SCPD building blocks: UDA 1.0 section 2.3 ---- */

#define SIM_SCPD_HEAD                                 \
  "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"      \
  "<scpd xmlns=\"urn:schemas-upnp-org:service-1-0\">\n" \
  "  <specVersion>\n"                                 \
  "    <major>1</major>\n"                            \
  "    <minor>0</minor>\n"                            \
  "  </specVersion>\n"                                \
  "  <actionList>\n"

#define SIM_SCPD_MID   \
  "  </actionList>\n"  \
  "  <serviceStateTable>\n"

#define SIM_SCPD_TAIL        \
  "  </serviceStateTable>\n" \
  "</scpd>\n"

#define SIM_ACT0(n)          \
  "    <action>\n"           \
  "      <name>" n "</name>\n" \
  "    </action>\n"

#define SIM_ACT(n, args)       \
  "    <action>\n"             \
  "      <name>" n "</name>\n"   \
  "      <argumentList>\n" args \
  "      </argumentList>\n"    \
  "    </action>\n"

#define SIM_ARG(n, dir, var)                                          \
  "        <argument>\n"                                              \
  "          <name>" n "</name>\n"                                      \
  "          <direction>" dir "</direction>\n"                          \
  "          <relatedStateVariable>" var "</relatedStateVariable>\n"    \
  "        </argument>\n"

#define SIM_VAR(ev, n, type, extra)                   \
  "    <stateVariable sendEvents=\"" ev "\">\n"       \
  "      <name>" n "</name>\n"                          \
  "      <dataType>" type "</dataType>\n" extra         \
  "    </stateVariable>\n"

#define SIM_DEF(v) "      <defaultValue>" v "</defaultValue>\n"

#define SIM_RANGE(lo, hi)              \
  "      <allowedValueRange>\n"        \
  "        <minimum>" lo "</minimum>\n"  \
  "        <maximum>" hi "</maximum>\n"  \
  "      </allowedValueRange>\n"

/* ---- SwitchPower:1 ---- */

const char *const ucp_sim_scpd_switchpower[] = {
    SIM_SCPD_HEAD
    SIM_ACT("SetTarget", SIM_ARG("newTargetValue", "in", "Target"))
    SIM_ACT("GetTarget", SIM_ARG("RetTargetValue", "out", "Target"))
    SIM_ACT("GetStatus", SIM_ARG("ResultStatus", "out", "Status"))
    SIM_SCPD_MID
    SIM_VAR("no", "Target", "boolean", SIM_DEF("0"))
    SIM_VAR("yes", "Status", "boolean", SIM_DEF("0"))
    SIM_SCPD_TAIL,
    NULL};

/* ---- Dimming:1 ---- */

const char *const ucp_sim_scpd_dimming[] = {
    SIM_SCPD_HEAD
    SIM_ACT("SetLoadLevelTarget",
            SIM_ARG("newLoadlevelTarget", "in", "LoadLevelTarget"))
    SIM_ACT("GetLoadLevelTarget",
            SIM_ARG("retLoadlevelTarget", "out", "LoadLevelTarget"))
    SIM_ACT("GetLoadLevelStatus",
            SIM_ARG("retLoadlevelStatus", "out", "LoadLevelStatus"))
    SIM_ACT("SetOnEffectLevel",
            SIM_ARG("newOnEffectLevel", "in", "OnEffectLevel"))
    SIM_ACT("SetOnEffect", SIM_ARG("newOnEffect", "in", "OnEffect")),
    SIM_ACT("GetOnEffectParameters",
            SIM_ARG("retOnEffect", "out", "OnEffect")
            SIM_ARG("retOnEffectLevel", "out", "OnEffectLevel"))
    SIM_ACT0("StepUp")
    SIM_ACT0("StepDown")
    SIM_ACT0("StartRampUp")
    SIM_ACT0("StartRampDown")
    SIM_ACT0("StopRamp")
    SIM_ACT("StartRampToLevel",
            SIM_ARG("newLoadLevelTarget", "in", "LoadLevelTarget")
            SIM_ARG("newRampTime", "in", "RampTime")),
    SIM_ACT("SetStepDelta", SIM_ARG("newStepDelta", "in", "StepDelta"))
    SIM_ACT("GetStepDelta", SIM_ARG("retStepDelta", "out", "StepDelta"))
    SIM_ACT("SetRampRate", SIM_ARG("newRampRate", "in", "RampRate"))
    SIM_ACT("GetRampRate", SIM_ARG("retRampRate", "out", "RampRate"))
    SIM_ACT0("PauseRamp")
    SIM_ACT0("ResumeRamp"),
    SIM_ACT("GetIsRamping", SIM_ARG("retIsRamping", "out", "IsRamping"))
    SIM_ACT("GetRampPaused", SIM_ARG("retRampPaused", "out", "RampPaused"))
    SIM_ACT("GetRampTime", SIM_ARG("retRampTime", "out", "RampTime"))
    SIM_SCPD_MID,
    SIM_VAR("no", "LoadLevelTarget", "ui1", SIM_DEF("0") SIM_RANGE("0", "100"))
    SIM_VAR("yes", "LoadLevelStatus", "ui1",
            SIM_DEF("0") SIM_RANGE("0", "100"))
    SIM_VAR("no", "OnEffectLevel", "ui1", SIM_DEF("100") SIM_RANGE("0", "100"))
    SIM_VAR("no", "OnEffect", "string",
            SIM_DEF("Default")
            "      <allowedValueList>\n"
            "        <allowedValue>OnEffectLevel</allowedValue>\n"
            "        <allowedValue>LastSetting</allowedValue>\n"
            "        <allowedValue>Default</allowedValue>\n"
            "      </allowedValueList>\n")
    SIM_VAR("yes", "StepDelta", "ui1", SIM_DEF("10") SIM_RANGE("1", "100"))
    SIM_VAR("yes", "RampRate", "ui1", SIM_DEF("0") SIM_RANGE("0", "100"))
    SIM_VAR("no", "RampTime", "ui4", SIM_DEF("0"))
    SIM_VAR("yes", "IsRamping", "boolean", SIM_DEF("0"))
    SIM_VAR("yes", "RampPaused", "boolean", SIM_DEF("0"))
    SIM_SCPD_TAIL,
    NULL};

/* ---- fault documents ---- */

const char *const ucp_sim_doc_malformed[] = {
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">"
    "<device><friendlyName>x</device>\n",
    NULL};

#define SIM_LOL10(e) \
  "&" e ";&" e ";&" e ";&" e ";&" e ";&" e ";&" e ";&" e ";&" e ";&" e ";"

const char *const ucp_sim_doc_doctype[] = {
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<!DOCTYPE root [\n"
    "  <!ENTITY lol \"lol\">\n"
    "  <!ENTITY lol1 \"" SIM_LOL10("lol") "\">\n"
    "  <!ENTITY lol2 \"" SIM_LOL10("lol1") "\">\n"
    "  <!ENTITY lol3 \"" SIM_LOL10("lol2") "\">\n"
    "  <!ENTITY lol4 \"" SIM_LOL10("lol3") "\">\n"
    "  <!ENTITY lol5 \"" SIM_LOL10("lol4") "\">\n"
    "  <!ENTITY lol6 \"" SIM_LOL10("lol5") "\">\n"
    "  <!ENTITY lol7 \"" SIM_LOL10("lol6") "\">\n"
    "  <!ENTITY lol8 \"" SIM_LOL10("lol7") "\">\n"
    "  <!ENTITY lol9 \"" SIM_LOL10("lol8") "\">\n"
    "]>\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\n"
    "  <specVersion><major>1</major><minor>0</minor></specVersion>\n"
    "  <device>\n"
    "    <deviceType>urn:schemas-upnp-org:device:BinaryLight:1</deviceType>\n"
    "    <friendlyName>&lol9;</friendlyName>\n"
    "    <UDN>uuid:2f402f80-da50-11e1-9b23-00178801dead</UDN>\n"
    "  </device>\n"
    "</root>\n",
    NULL};

const char *const ucp_sim_doc_index[] = {
    "<!DOCTYPE html>\n"
    "<html><head><title>upnpcp sim</title></head>\n"
    "<body><p>upnpcp simulated light: see <a href=\"/desc.xml\">desc.xml</a>"
    "</p></body></html>\n",
    NULL};

/* ---- icon: 48x48, 8-bit RGB (depth 24), one solid colour ---- */

const unsigned char ucp_sim_icon_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
    0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x30,
    0x08, 0x02, 0x00, 0x00, 0x00, 0xd8, 0x60, 0x6e, 0xd0, 0x00, 0x00, 0x00,
    0x3a, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0xed, 0xce, 0x41, 0x0d, 0x00,
    0x00, 0x08, 0x04, 0xa0, 0x8b, 0x63, 0xff, 0x14, 0xb6, 0xd2, 0x16, 0xce,
    0x07, 0x1b, 0x01, 0xc8, 0x74, 0xbd, 0x12, 0x21, 0x21, 0x21, 0x21, 0x21,
    0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21,
    0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0xa1, 0x3b, 0x0b, 0xaf,
    0xdb, 0x68, 0x00, 0xa2, 0x2f, 0x9c, 0x06, 0x00, 0x00, 0x00, 0x00, 0x49,
    0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

const size_t ucp_sim_icon_png_len = sizeof ucp_sim_icon_png;
