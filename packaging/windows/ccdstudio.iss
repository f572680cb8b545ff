; Inno Setup 6 script: per-user installer of the ccdstudio bundle (no admin rights needed).
;
; packaging/build.py runs it after PyInstaller:
;   iscc /DAppVersion=0.1.0 /DFlavour=cpu /DBundleDir=C:\...\packaging\dist\ccdstudio
;        /DOutputDir=C:\...\packaging\dist packaging\windows\ccdstudio.iss
; Installs into %LOCALAPPDATA%\Programs\ccdstudio (Program Files when run as administrator), adds a Start
; menu entry, optionally a desktop icon, opens .fits/.fit/.fts files and puts the command on the user's PATH.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef Flavour
  #define Flavour "cpu"
#endif
#ifndef BundleDir
  #define BundleDir "..\dist\ccdstudio"
#endif
#ifndef OutputDir
  #define OutputDir "..\dist"
#endif
#define ProgId "ccdstudio.fits"
#define GuiExe "ccdstudio-gui.exe"

[Setup]
AppId={{BADE6E31-5223-4FAF-9AF9-4E6B43CB389D}
AppName=ccdstudio
AppVersion={#AppVersion}
AppVerName=ccdstudio {#AppVersion} ({#Flavour})
AppPublisher=ccdstudio developers
DefaultDirName={autopf}\ccdstudio
DefaultGroupName=ccdstudio
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=ccdstudio-{#AppVersion}-windows-x64-{#Flavour}-setup
SetupIconFile=..\..\resources\icons\ccdstudio.ico
UninstallDisplayIcon={app}\{#GuiExe}
UninstallDisplayName=ccdstudio {#AppVersion} ({#Flavour})
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes
ChangesEnvironment=yes
CloseApplications=yes

[Tasks]
Name: "fitsassoc"; Description: "Open .fits, .fit and .fts files with ccdstudio"
Name: "addtopath"; Description: "Add the ccdstudio command to my PATH"
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the bundle whole: files of the old version must not shadow the new one's.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\ccdstudio"; Filename: "{app}\{#GuiExe}"
Name: "{autodesktop}\ccdstudio"; Filename: "{app}\{#GuiExe}"; Tasks: desktopicon

[Registry]
; HKA is HKCU for a per-user install and HKLM for an all-users one.
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "FITS image"; Flags: uninsdeletekey; Tasks: fitsassoc
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#GuiExe},0"; Tasks: fitsassoc
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" gui ""%1"""; Tasks: fitsassoc
Root: HKA; Subkey: "Software\Classes\.fits"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"; Flags: uninsdeletevalue; Tasks: fitsassoc
Root: HKA; Subkey: "Software\Classes\.fits\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: fitsassoc
Root: HKA; Subkey: "Software\Classes\.fit"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"; Flags: uninsdeletevalue; Tasks: fitsassoc
Root: HKA; Subkey: "Software\Classes\.fit\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: fitsassoc
Root: HKA; Subkey: "Software\Classes\.fts"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"; Flags: uninsdeletevalue; Tasks: fitsassoc
Root: HKA; Subkey: "Software\Classes\.fts\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: fitsassoc
Root: HKA; Subkey: "Software\Classes\Applications\{#GuiExe}\SupportedTypes"; ValueType: string; ValueName: ".fits"; ValueData: ""; Flags: uninsdeletekey; Tasks: fitsassoc

[Run]
Filename: "{app}\{#GuiExe}"; Description: "{cm:LaunchProgram,ccdstudio}"; Flags: nowait postinstall skipifsilent

[Code]
const
  EnvKey = 'Environment';

function PathRoot: Integer;
begin
  if IsAdminInstallMode then
    Result := HKEY_LOCAL_MACHINE
  else
    Result := HKEY_CURRENT_USER;
end;

function EnvSubkey: String;
begin
  if IsAdminInstallMode then
    Result := 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
  else
    Result := EnvKey;
end;

{ The PATH with the app folder taken out (compared case-insensitively, as Windows does). }
function PathWithout(Path, Dir: String): String;
var
  Item: String;
  Rest: String;
  P: Integer;
begin
  Result := '';
  Rest := Path + ';';
  while Rest <> '' do
  begin
    P := Pos(';', Rest);
    Item := Copy(Rest, 1, P - 1);
    Rest := Copy(Rest, P + 1, Length(Rest));
    if (Item <> '') and (CompareText(RemoveBackslashUnlessRoot(Item), RemoveBackslashUnlessRoot(Dir)) <> 0) then
    begin
      if Result <> '' then
        Result := Result + ';';
      Result := Result + Item;
    end;
  end;
end;

procedure SetPath(Add: Boolean);
var
  Path: String;
begin
  if not RegQueryStringValue(PathRoot, EnvSubkey, 'Path', Path) then
    Path := '';
  Path := PathWithout(Path, ExpandConstant('{app}'));
  if Add then
  begin
    if Path <> '' then
      Path := Path + ';';
    Path := Path + ExpandConstant('{app}');
  end;
  RegWriteExpandStringValue(PathRoot, EnvSubkey, 'Path', Path);
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if (CurStep = ssPostInstall) and WizardIsTaskSelected('addtopath') then
    SetPath(True);
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    SetPath(False);
end;
