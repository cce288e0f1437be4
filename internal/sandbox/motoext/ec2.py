"""EC2 as the API reference has it where moto differs.

CreateLaunchTemplateVersion with SourceVersion: "The new version inherits
the same launch parameters as the source version, except for parameters
that you specify in LaunchTemplateData" (top-level fields replace the
source's). moto keeps only the fields given, so a version made to swap
the AMI lost the instance type and user data. A SourceVersion that does
not exist is InvalidLaunchTemplateId.VersionNotFound (moto's own error of
get_version).
"""

import copy

from moto.ec2.responses.launch_templates import LaunchTemplates

_original = LaunchTemplates.create_launch_template_version


def create_launch_template_version(self):
    source = self._get_param("SourceVersion")
    if source:
        name, tmpl_id = self._get_param("LaunchTemplateName"), self._get_param("LaunchTemplateId")
        template = self.ec2_backend.get_launch_template(tmpl_id) if tmpl_id else self.ec2_backend.get_launch_template_by_name(name)
        data = copy.deepcopy(template.get_version(source).data)
        data.update(self._get_param("LaunchTemplateData", {}) or {})
        given = self._get_param

        def _get_param(param_name, if_none=None, *args, **kwargs):
            if param_name == "LaunchTemplateData":
                return data
            return given(param_name, if_none, *args, **kwargs)

        self._get_param = _get_param
    return _original(self)


def install():
    LaunchTemplates.create_launch_template_version = create_launch_template_version
