#include "sarge/supervisor.h"

namespace sarge {

std::vector<BatchResult> Supervisor::Batch(const std::vector<BatchCall>& calls) {
  using Op = BatchCall::Op;
  std::vector<BatchResult> results(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    const BatchCall& call = calls[i];
    BatchResult& result = results[i];
    try {
      switch (call.op) {
        case Op::kGetProcessInfo:
          result.info = GetProcessInfo(call.name);
          break;
        case Op::kReloadConfig:
          result.reload = ReloadConfig();
          break;
        case Op::kAddProcessGroup:
          AddProcessGroup(call.name);
          break;
        case Op::kRemoveProcessGroup:
          RemoveProcessGroup(call.name);
          break;
        case Op::kStartProcess:
          StartProcess(call.name, false);
          break;
        case Op::kStopProcess:
          StopProcess(call.name, false);
          break;
      }
    } catch (const SupervisorFault& f) {
      result.fault = f;
    }
  }
  return results;
}

}  // namespace sarge
